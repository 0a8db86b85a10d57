"""The random streams of plausible values: one family per column, keyed by the
table and column names, so a column's vocabulary and draws depend on nothing else
(not on other columns, chunk sizes or engines)."""

from __future__ import annotations

import numpy as np

from plurel_sql.rng import key_seed, stream

PURPOSE = "values"


def column_stream(seed: int, table: str, column: str, what: str) -> np.random.Generator:
    """The numpy stream of ``what`` (e.g. ``"pick"``) for one column."""
    return stream(seed, PURPOSE, table, column, what)


def column_seed(seed: int, table: str, column: str, what: str) -> int:
    """An integer seed (for a Faker instance) of ``what`` for one column."""
    return key_seed(seed, PURPOSE, table, column, what)
