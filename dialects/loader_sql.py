"""Engine-neutral SQL of the loader, with the hooks engines override.

The loader (``plurel_sql.loader``) never writes SQL itself: it asks the database's
dialect for the text of one breadth-first hop, of a row fetch, of the task split
queries and (for databases written before statistics were stored) of the column
statistics. :class:`LoaderSQL` builds standard SQL (joins, ``UNION ALL``,
``ROW_NUMBER() OVER``); every :class:`~plurel_sql.dialects.base.Dialect` inherits it
and overrides only what differs on its engine: how a timestamp becomes epoch
seconds, integer arithmetic, how an in-memory relation (the frontier of a hop, a
list of row ids) is bound so a query can join against it (``Dialect.run``).

Identifiers are always quoted; data values are bound, never formatted into the
text. The only literals written into SQL are small integers the loader derives
from the schema (table indexes, the width cap).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

# Modulus and multipliers of the integer hash shared by SQL and numpy
# (plurel_sql.loader.hashing). All intermediate products stay below 2**63 as
# long as node ids and salts are below 2**31.
HASH_P = 2147483647
HASH_A = 2654435761
HASH_B = 40503
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
    child_pk: str  # primary keys: row_idx for random schemas, any name from SQL
    parent_pk: str


class LoaderSQL:
    """The loader's SQL text; engine hooks are the methods subclasses override."""

    #: the driver's positional parameter marker
    placeholder = "?"
    #: the schema of a connection's TEMP tables
    temp_schema = "temp"

    def epoch_seconds(self, expr: str) -> str:  # pragma: no cover
        """SQL turning a TIMESTAMP expression into BIGINT seconds since 1970."""
        raise NotImplementedError

    # --- time ---------------------------------------------------------------
    def ts_or_none(self, alias: str, time_column: str | None) -> str:
        if time_column is None:
            return f"CAST({NO_TIME} AS BIGINT)"
        col = f"{alias}.{quote(time_column)}"
        return f"COALESCE({self.epoch_seconds(col)}, CAST({NO_TIME} AS BIGINT))"

    # --- hashing ------------------------------------------------------------
    def hash_sql(self, salt: str, node: str) -> str:
        """SQL of the keyed node hash; same arithmetic as loader.hashing.node_hash."""
        h1 = f"MOD({node} * {HASH_A} + {salt} * {HASH_B}, {HASH_P})"
        h2 = f"MOD({h1} * {h1} + {node}, {HASH_P})"
        return f"MOD({h2} * {HASH_D} + {salt}, {HASH_P})"

    # --- adjacency: every foreign-key link once, as node ids ----------------------
    def adjacency_sql(self, edges: Sequence[EdgeSpec], offsets: Sequence[int]) -> list[str]:
        """Statements creating the session's link tables from the database's keys.

        ``plurel_up(child, parent, pts)`` ordered by child and
        ``plurel_down(parent, child, cts)`` ordered by parent hold one row per
        foreign-key value, with node ids (``offset[table] + row_idx``) and the
        times of the other end (NO_TIME when untimed), so that a hop is one small
        join whatever the number of tables. They are TEMP tables: built by each
        connection from the base tables (read-only databases work), never stored.
        """
        parts = []
        for e in edges:
            c = quote(e.child)
            fk = f"c.{quote(e.fk_column)}"
            child = f"c.{quote(e.child_pk)} + {int(offsets[e.child_idx])}"
            parent = f"{fk} + {int(offsets[e.parent_idx])}"
            cts = self.ts_or_none("c", e.child_time)
            src = f"{c} c"
            pts = f"CAST({NO_TIME} AS BIGINT)"
            if e.parent_time is not None:
                src += f" JOIN {quote(e.parent)} p ON p.{quote(e.parent_pk)} = {fk}"
                pts = self.ts_or_none("p", e.parent_time)
            parts.append(
                f"SELECT CAST({child} AS BIGINT) AS child, CAST({parent} AS BIGINT) AS parent, "
                f"{cts} AS cts, {pts} AS pts FROM {src} WHERE {fk} IS NOT NULL"
            )
        if not parts:
            parts = [
                "SELECT CAST(0 AS BIGINT) AS child, CAST(0 AS BIGINT) AS parent, "
                "CAST(0 AS BIGINT) AS cts, CAST(0 AS BIGINT) AS pts WHERE 1 = 0"
            ]
        union = " UNION ALL ".join(parts)
        return [
            f"DROP TABLE IF EXISTS {self.temp_schema}.plurel_up",
            f"DROP TABLE IF EXISTS {self.temp_schema}.plurel_down",
            f"CREATE TEMP TABLE plurel_up AS SELECT child, parent, pts FROM ({union}) l "
            "ORDER BY child, parent",
            f"CREATE TEMP TABLE plurel_down AS SELECT parent, child, cts FROM ({union}) l "
            "ORDER BY parent, child",
        ]

    # --- the breadth-first hop ---------------------------------------------
    def hop_sql(self, max_width: int) -> str:
        """One hop for every sequence of a batch at once.

        The frontier relation has columns (seq, node, asof, salt). The result has
        (seq, node, is_child): every parent of a frontier node, and at most
        ``max_width`` children per frontier node (over all incoming foreign keys
        together: those with the smallest (hash, node)), nodes later than the
        sequence's ``asof`` excluded.
        """
        f = FRONTIER
        h_child = self.hash_sql("f.salt", "d.child")
        return (
            f"SELECT f.seq AS seq, u.parent AS node, 0 AS is_child "
            f"FROM {f} f JOIN plurel_up u ON u.child = f.node WHERE u.pts <= f.asof "
            "UNION ALL "
            "SELECT seq, node, 1 AS is_child FROM ("
            "SELECT f.seq AS seq, d.child AS node, "
            "ROW_NUMBER() OVER (PARTITION BY f.seq, f.node "
            f"ORDER BY {h_child}, d.child) AS rn "
            f"FROM {f} f JOIN plurel_down d ON d.parent = f.node WHERE d.cts <= f.asof"
            f") k WHERE rn <= {int(max_width)}"
        )

    # --- row contents ---------------------------------------------------------
    def fetch_sql(
        self,
        table: str,
        fk_columns: Sequence[str],
        numeric: Sequence[str],
        boolean: Sequence[str],
        categorical: Sequence[str],
        time_column: str | None,
        primary_key: str,
        all_rows: bool = False,
    ) -> str:
        """Columns of the rows whose ids are in the bound ROW_IDS relation (or
        of every row with ``all_rows``): row_idx, foreign keys (NULL -> -1),
        numeric as DOUBLE, boolean as 1.0/0.0, categorical as text, then ``ts``."""
        pk = f"t.{quote(primary_key)}"
        cols = [f"{pk} AS row_idx"]
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
            src = f"{ROW_IDS} i JOIN {quote(table)} t ON {pk} = i.row_idx"
        return f"SELECT {', '.join(cols)} FROM {src} ORDER BY {pk}"

    # --- tasks ---------------------------------------------------------------
    def split_rows_sql(
        self, table: str, column: str, time_column: str | None, primary_key: str
    ) -> str:
        """Ids and times of the rows with a non-NULL target, time-ordered by id;
        bounds are applied by the loader (two bound parameters lo, hi)."""
        ph = self.placeholder
        ts = self.ts_or_none("t", time_column)
        where = f"t.{quote(column)} IS NOT NULL"
        if time_column is not None:
            where += f" AND {ts} >= {ph} AND {ts} < {ph}"
        return (
            f"SELECT t.{quote(primary_key)} AS row_idx, {ts} AS ts FROM {quote(table)} t "
            f"WHERE {where} ORDER BY t.{quote(primary_key)}"
        )

    def split_counts_sql(self, table: str, columns: Sequence[str], time_column: str | None) -> str:
        """Per target column: non-NULL count before the validation cut-off, before
        the test cut-off and overall (two bound parameters: val, test seconds)."""
        ph = self.placeholder
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

    # --- statistics of databases written without them ---------------------------
    def stats_compute_sql(self, table: str, numeric: Sequence[str], time_column: str | None) -> str:
        """AVG / STDDEV_POP / COUNT of every numeric column and of the time column
        (in epoch seconds), in one read-only scan of the table (the writer stores
        these statistics in ``plurel_meta``; this serves databases written before)."""
        out = []
        exprs = [f"t.{quote(c)}" for c in numeric]
        if time_column is not None:
            exprs.append(self.epoch_seconds(f"t.{quote(time_column)}"))
        for i, e in enumerate(exprs):
            x = f"CAST({e} AS {self.float_type})"
            out += [f"AVG({x}) AS m{i}", f"{self.spread_sql(x)} AS s{i}", f"COUNT({x}) AS n{i}"]
        return f"SELECT {', '.join(out)} FROM {quote(table)} t"

    float_type = "DOUBLE PRECISION"

    def spread_sql(self, x: str) -> str:
        """The aggregate in column ``s`` of the statistics query (see std_from)."""
        return f"STDDEV_POP({x})"

    def std_from(self, mean: float | None, value: float | None) -> float | None:
        """The standard deviation from column ``s`` of :meth:`stats_compute_sql`."""
        return value
