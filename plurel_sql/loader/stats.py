"""The column statistics the loader standardizes with: stored, or computed read-only.

Numbers and datetimes are standardized before they reach the model. The writer
computes their mean and standard deviation while loading and stores them in
``plurel_meta`` (``column_stats``, see :mod:`plurel_sql.column_stats`), so opening
a database costs no scan and needs no write access. A database written before
statistics were stored has no ``column_stats``: its statistics are then computed
in memory with one read-only ``AVG``/``STDDEV_POP`` scan per table on every open,
and never written back.
"""

from __future__ import annotations

from typing import Any

from plurel_sql.column_stats import Stats, stat_columns, to_stats, usable
from plurel_sql.dialects import Dialect
from plurel_sql.schema.ir import Schema, Table


def load_stats(dialect: Dialect, con: Any, meta: dict[str, Any], schema: Schema) -> Stats:
    """Statistics of every standardized column of ``schema``: the stored ones, or
    (no ``column_stats`` in ``meta``) computed read-only through ``con``."""
    stored = meta.get("column_stats")
    if stored is not None:
        return to_stats(stored)
    return {
        (t.name, column): value
        for t in schema.tables
        for column, value in compute_table_stats(dialect, con, t).items()
    }


def compute_table_stats(dialect: Dialect, con: Any, table: Table) -> dict[str, tuple[float, float]]:
    """(mean, std) of the standardized columns of ``table``, in one read-only scan."""
    cols = stat_columns(table)
    if not cols:
        return {}
    numeric = [c for c in cols if c != table.time_column]
    sql = dialect.stats_compute_sql(table.name, numeric, table.time_column)
    row = dialect.run(con, sql).to_pylist()[0]
    out = {}
    for i, name in enumerate(cols):
        mean = row[f"m{i}"]
        out[name] = usable(mean, dialect.std_from(mean, row[f"s{i}"]))
    return out
