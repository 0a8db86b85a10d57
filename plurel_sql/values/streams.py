"""The random streams of plausible values, keyed so that a column's values depend
on nothing but the seed and its own names (not on other columns, chunk sizes or
engines): one family per column, plus one Faker pool per provider and database
that the database's columns share (a column picks from it with its own stream).
Every stream key of plurel_sql.values is spelled here, in one place."""

from __future__ import annotations

import numpy as np

from plurel_sql.rng import Draw, Name, key_seed, stream


def column_stream(seed: int, table: str, column: str, what: Draw) -> np.random.Generator:
    """The numpy stream of ``what`` (e.g. ``Draw.SCRAMBLE``) for one column."""
    return stream(seed, Draw.VALUES, Name(table), Name(column), what)


def pool_seed(seed: int, method: str) -> int:
    """The seed of the Faker instance that draws the database's pool of ``method``."""
    return key_seed(seed, Draw.VALUES, Draw.VALUE_POOL, Name(method))


def rows_stream(seed: int, table: str) -> np.random.Generator:
    """The draw of a user's table's row count (the key schemas from SQL files use)."""
    return stream(seed, Draw.SCHEMA, Draw.ROWS, Name(table))


def categories_stream(seed: int, table: str, column: str) -> np.random.Generator:
    """The draw of a text column's number of categories."""
    return stream(seed, Draw.SCHEMA, Draw.CATEGORIES, Name(table), Name(column))
