"""Per-column mean and standard deviation, computed once in SQL and cached.

Numbers and datetimes are standardized before they reach the model. The
statistics are computed by the engine (one ``AVG``/``STDDEV_POP`` scan per
table) and stored in a ``plurel_stats`` table inside the database, so every
later reader -- other processes, other machines -- reuses them. Creation is
idempotent (``CREATE TABLE IF NOT EXISTS`` + ``INSERT ... ON CONFLICT DO
NOTHING``) and therefore safe when several readers start at once; if the
database cannot be written (read-only file, locked by another process) the
statistics are computed and used without being cached.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from plurel_sql.errors import PlurelError
from plurel_sql.loader.meta import rollback
from plurel_sql.schema.ir import Table

if TYPE_CHECKING:
    from plurel_sql.loader.meta import Database

Stats = dict[tuple[str, str], tuple[float, float]]


def stat_columns(table: Table) -> list[str]:
    """Columns standardized by the loader: numeric features and the time column."""
    cols = [c.name for c in table.cell_columns if c.kind == "numeric"]
    if table.time_column:
        cols.append(table.time_column)
    return cols


def _read_cached(db: Database, conn: Any) -> Stats:
    try:
        t = db.dialect.run(conn, "SELECT table_name, column_name, mean, std FROM plurel_stats")
    except Exception:  # noqa: BLE001 - table absent
        rollback(conn)
        return {}
    d = t.to_pydict()
    return {
        (tn, cn): (float(m), float(s))
        for tn, cn, m, s in zip(d["table_name"], d["column_name"], d["mean"], d["std"], strict=True)
    }


def _compute(db: Database, conn: Any, table: Table) -> dict[str, tuple[float, float, int]]:
    numeric = [c.name for c in table.cell_columns if c.kind == "numeric"]
    cols = stat_columns(table)
    if not cols:
        return {}
    sql = db.dialect.stats_compute_sql(table.name, numeric, table.time_column)
    row = db.dialect.run(conn, sql).to_pylist()[0]
    out = {}
    for i, name in enumerate(cols):
        mean, count = row[f"m{i}"], row[f"n{i}"]
        std = db.dialect.std_from(mean, row[f"s{i}"])
        mean = 0.0 if mean is None else float(mean)
        std = 1.0 if std is None or not float(std) > 1e-12 else float(std)
        out[name] = (mean, std, int(count or 0))
    return out


def ensure_stats(db: Database) -> Stats:
    """Statistics of every standardized column, from ``plurel_stats`` (created if needed)."""
    wanted = [(t.name, c) for t in db.schema.tables for c in stat_columns(t)]
    conn = db.connect(read_only=True)
    try:
        cached = _read_cached(db, conn)
    finally:
        conn.close()
    missing_tables = [
        t for t in db.schema.tables if any((t.name, c) not in cached for c in stat_columns(t))
    ]
    if not missing_tables:
        return {k: cached[k] for k in wanted}
    try:
        conn = db.connect(read_only=False)
    except PlurelError:
        conn = None
    if conn is None:  # cannot write: compute without caching
        conn = db.connect(read_only=True)
        try:
            for t in missing_tables:
                for c, (m, s, _) in _compute(db, conn, t).items():
                    cached[(t.name, c)] = (m, s)
        finally:
            conn.close()
        return {k: cached[k] for k in wanted}
    try:
        d = db.dialect
        d.execute(conn, d.stats_ddl())
        for t in missing_tables:
            for c, (m, s, n) in _compute(db, conn, t).items():
                d.execute(conn, d.stats_insert_sql(), [t.name, c, m, s, n])
        d.commit(conn)
        cached = _read_cached(db, conn)
        return {k: cached[k] for k in wanted}
    finally:
        conn.close()
