"""Engine-neutral SQL for the context sampler, with per-engine hooks.

The loader (``plurel_sql.loader``) never writes SQL itself: it asks a
:class:`SamplingDialect` for the text of one breadth-first hop, of a row fetch,
of the task split queries and of the column statistics. This base class builds
standard SQL (joins, ``UNION ALL``, ``ROW_NUMBER() OVER``) and leaves to each
engine module only what really differs: how to connect, how to turn a
timestamp into epoch seconds and how to bind an in-memory relation (the
frontier of a hop, a list of row ids) so a query can join against it.

Identifiers are always quoted; data values are bound, never formatted into the
text. The only literals written into SQL are small integers the loader derives
from the schema (table indexes, the width cap).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from plurel_sql.errors import DatabaseError

# Modulus and multipliers of the integer hash shared by SQL and numpy
# (plurel_sql.loader.hashing). All intermediate products stay below 2**63 as
# long as row ids and salts are below 2**31.
HASH_P = 2147483647
HASH_A = 2654435761
HASH_B = 40503
HASH_C = 97
HASH_D = 48271

NO_TIME = -(2**63)  # timestamp of a row without time, and of padding
FRONTIER = "plurel_frontier"  # name of the bound relation holding a hop's frontier
ROW_IDS = "plurel_row_ids"  # name of the bound relation holding ids to fetch


def quote(name: str) -> str:
    """Quote an identifier for any of the supported engines (SQL standard)."""
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class EdgeSpec:
    """One foreign key seen from the loader: ``child.fk_column -> parent``.

    ``*_idx`` are the tables' positions in the schema; ``*_time`` their time
    column or ``None``.
    """

    child: str
    child_idx: int
    fk_column: str
    parent: str
    parent_idx: int
    child_time: str | None
    parent_time: str | None


class SamplingDialect:
    """Base of the per-engine sampling dialects; subclasses override the hooks."""

    name = "base"

    # --- engine hooks -------------------------------------------------------
    def connect(self, url: str, read_only: bool = True) -> Any:  # pragma: no cover
        raise NotImplementedError

    def epoch_seconds(self, expr: str) -> str:  # pragma: no cover
        """SQL turning a TIMESTAMP expression into BIGINT seconds since 1970."""
        raise NotImplementedError

    def run(
        self,
        conn: Any,
        sql: str,
        relations: Mapping[str, Mapping[str, np.ndarray]] | None = None,
        params: Sequence[Any] = (),
    ) -> pa.Table:  # pragma: no cover
        """Run ``sql`` with each of ``relations`` (name -> int64 columns) bound as a
        relation of that name, and return the result as an Arrow table."""
        raise NotImplementedError

    def execute(self, conn: Any, sql: str, params: Sequence[Any] = ()) -> None:
        """Run a statement without result (DDL, INSERT)."""
        cur = conn.cursor()
        cur.execute(sql, list(params))

    def commit(self, conn: Any) -> None:
        conn.commit()

    def placeholder(self) -> str:
        return "?"

    def prepare(self, conn: Any, edges: Sequence[EdgeSpec]) -> None:
        """Make the database fast to walk (e.g. index foreign keys). Idempotent."""

    # --- time ---------------------------------------------------------------
    def ts_or_none(self, alias: str, time_column: str | None) -> str:
        if time_column is None:
            return f"CAST({NO_TIME} AS BIGINT)"
        col = f"{alias}.{quote(time_column)}"
        return f"COALESCE({self.epoch_seconds(col)}, CAST({NO_TIME} AS BIGINT))"

    # --- hashing ------------------------------------------------------------
    def hash_sql(self, salt: str, table_idx: str, row: str) -> str:
        """SQL of the keyed row hash; same arithmetic as loader.hashing.row_hash."""
        h1 = f"MOD({row} * {HASH_A} + {salt} * {HASH_B} + {table_idx} * {HASH_C}, {HASH_P})"
        h2 = f"MOD({h1} * {h1} + {row}, {HASH_P})"
        return f"MOD({h2} * {HASH_D} + {salt}, {HASH_P})"

    # --- the breadth-first hop ---------------------------------------------
    def hop_sql(self, edges: Sequence[EdgeSpec], frontier_tables: set[int], max_width: int) -> str:
        """One hop for every sequence of a batch at once.

        The frontier relation has columns (seq, tab, row_idx, asof, salt). The
        result has (seq, tab, row_idx, ts, is_child, h): every parent row of a
        frontier row (all foreign keys) and at most ``max_width`` child rows per
        frontier row (over all incoming foreign keys together, the ones with the
        smallest hash), rows later than the sequence's ``asof`` excluded.
        """
        f = FRONTIER
        max_width = int(max_width)
        parts: list[str] = []
        children: list[str] = []
        for e in edges:
            if e.child_idx in frontier_tables:  # frontier row -> its parent
                c, p = quote(e.child), quote(e.parent)
                fk = f"c.{quote(e.fk_column)}"
                if e.parent_time is None:
                    parts.append(
                        f"SELECT f.seq, {e.parent_idx} AS tab, {fk} AS row_idx, "
                        f"CAST({NO_TIME} AS BIGINT) AS ts, 0 AS is_child, "
                        f"{self.hash_sql('f.salt', str(e.parent_idx), fk)} AS h "
                        f"FROM {f} f JOIN {c} c ON c.row_idx = f.row_idx "
                        f"WHERE f.tab = {e.child_idx} AND {fk} IS NOT NULL"
                    )
                else:
                    pts = self.ts_or_none("p", e.parent_time)
                    parts.append(
                        f"SELECT f.seq, {e.parent_idx} AS tab, p.row_idx AS row_idx, "
                        f"{pts} AS ts, 0 AS is_child, "
                        f"{self.hash_sql('f.salt', str(e.parent_idx), 'p.row_idx')} AS h "
                        f"FROM {f} f JOIN {c} c ON c.row_idx = f.row_idx "
                        f"JOIN {p} p ON p.row_idx = {fk} "
                        f"WHERE f.tab = {e.child_idx} AND {pts} <= f.asof"
                    )
            if e.parent_idx in frontier_tables:  # frontier row -> its children
                c = quote(e.child)
                fk = f"c.{quote(e.fk_column)}"
                cts = self.ts_or_none("c", e.child_time)
                cond = "" if e.child_time is None else f" AND {cts} <= f.asof"
                children.append(
                    f"SELECT f.seq, f.tab AS ptab, f.row_idx AS prow, "
                    f"{e.child_idx} AS tab, c.row_idx AS row_idx, {cts} AS ts, "
                    f"{self.hash_sql('f.salt', str(e.child_idx), 'c.row_idx')} AS h "
                    f"FROM {f} f JOIN {c} c ON {fk} = f.row_idx "
                    f"WHERE f.tab = {e.parent_idx}{cond}"
                )
        if children:
            union = " UNION ALL ".join(children)
            parts.append(
                "SELECT seq, tab, row_idx, ts, 1 AS is_child, h FROM ("
                "SELECT k.*, ROW_NUMBER() OVER (PARTITION BY seq, ptab, prow "
                "ORDER BY h, tab, row_idx) AS rn "
                f"FROM ({union}) k) ranked WHERE rn <= {max_width}"
            )
        if not parts:
            return ""
        return " UNION ALL ".join(parts)

    # --- row contents ---------------------------------------------------------
    def fetch_sql(
        self,
        table: str,
        fk_columns: Sequence[str],
        numeric: Sequence[str],
        boolean: Sequence[str],
        categorical: Sequence[str],
        time_column: str | None,
        all_rows: bool = False,
    ) -> str:
        """Columns of the rows whose ids are in the bound ROW_IDS relation (or
        of every row with ``all_rows``): row_idx, foreign keys (NULL -> -1),
        numeric as DOUBLE, boolean as 1.0/0.0, categorical as text, then ``ts``."""
        cols = ["t.row_idx AS row_idx"]
        cols += [f"COALESCE(t.{quote(c)}, -1) AS {quote('fk:' + c)}" for c in fk_columns]
        cols += [f"CAST(t.{quote(c)} AS DOUBLE PRECISION) AS {quote('n:' + c)}" for c in numeric]
        cols += [
            f"CASE WHEN t.{quote(c)} THEN 1.0 WHEN NOT t.{quote(c)} THEN 0.0 END "
            f"AS {quote('b:' + c)}"
            for c in boolean
        ]
        cols += [f"t.{quote(c)} AS {quote('c:' + c)}" for c in categorical]
        cols.append(f"{self.ts_or_none('t', time_column)} AS ts")
        src = f"{quote(table)} t"
        if not all_rows:
            src = f"{ROW_IDS} i JOIN {quote(table)} t ON t.row_idx = i.row_idx"
        return f"SELECT {', '.join(cols)} FROM {src} ORDER BY t.row_idx"

    # --- tasks ---------------------------------------------------------------
    def split_rows_sql(self, table: str, column: str, time_column: str | None) -> str:
        """Ids and times of the rows with a non-NULL target, time-ordered by id;
        bounds are applied by the loader (two bound parameters lo, hi)."""
        ph = self.placeholder()
        ts = self.ts_or_none("t", time_column)
        where = f"t.{quote(column)} IS NOT NULL"
        if time_column is not None:
            where += f" AND {ts} >= {ph} AND {ts} < {ph}"
        return (
            f"SELECT t.row_idx AS row_idx, {ts} AS ts FROM {quote(table)} t "
            f"WHERE {where} ORDER BY t.row_idx"
        )

    def split_counts_sql(self, table: str, columns: Sequence[str], time_column: str | None) -> str:
        """Per target column: non-NULL count before the validation cut-off, before
        the test cut-off and overall (two bound parameters: val, test seconds)."""
        ph = self.placeholder()
        ts = self.ts_or_none("t", time_column)
        out = []
        for i, c in enumerate(columns):
            nn = f"t.{quote(c)} IS NOT NULL"
            if time_column is None:
                out += [f"COUNT(t.{quote(c)}) AS a{i}", f"COUNT(t.{quote(c)}) AS b{i}"]
            else:
                out += [
                    f"SUM(CASE WHEN {nn} AND {ts} < {ph} THEN 1 ELSE 0 END) AS a{i}",
                    f"SUM(CASE WHEN {nn} AND {ts} < {ph} THEN 1 ELSE 0 END) AS b{i}",
                ]
            out.append(f"COUNT(t.{quote(c)}) AS n{i}")
        return f"SELECT {', '.join(out)} FROM {quote(table)} t"

    # --- statistics -------------------------------------------------------------
    def stats_ddl(self) -> str:
        return (
            "CREATE TABLE IF NOT EXISTS plurel_stats ("
            "table_name TEXT NOT NULL, column_name TEXT NOT NULL, "
            "mean DOUBLE PRECISION NOT NULL, std DOUBLE PRECISION NOT NULL, "
            "count BIGINT NOT NULL, PRIMARY KEY (table_name, column_name))"
        )

    def stats_compute_sql(self, table: str, numeric: Sequence[str], time_column: str | None) -> str:
        """AVG / STDDEV_POP / COUNT of every numeric column and of the time column
        (in epoch seconds), in one scan of the table."""
        out = []
        exprs = [f"t.{quote(c)}" for c in numeric]
        if time_column is not None:
            exprs.append(self.epoch_seconds(f"t.{quote(time_column)}"))
        for i, e in enumerate(exprs):
            x = f"CAST({e} AS DOUBLE PRECISION)"
            out += [f"AVG({x}) AS m{i}", f"STDDEV_POP({x}) AS s{i}", f"COUNT({x}) AS n{i}"]
        return f"SELECT {', '.join(out)} FROM {quote(table)} t"

    def stats_insert_sql(self) -> str:
        ph = self.placeholder()
        return (
            "INSERT INTO plurel_stats (table_name, column_name, mean, std, count) "
            f"VALUES ({ph}, {ph}, {ph}, {ph}, {ph}) "
            "ON CONFLICT (table_name, column_name) DO NOTHING"
        )


def sampling_dialect_for(url: str) -> SamplingDialect:
    """The sampling dialect of a database URL, chosen by its scheme."""
    from plurel_sql.dialects.url import parse_url

    engine = parse_url(url).engine
    if engine == "duckdb":
        from plurel_sql.dialects.sampling_duckdb import DuckDBSampling

        return DuckDBSampling()
    if engine == "postgresql":
        from plurel_sql.dialects.sampling_postgresql import PostgreSQLSampling

        return PostgreSQLSampling()
    raise DatabaseError(
        f"the loader does not read {engine} databases yet: use DuckDB or PostgreSQL"
    )
