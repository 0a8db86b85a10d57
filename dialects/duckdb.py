"""DuckDB (the embedded default): everything DuckDB-specific.

Writing: Arrow batches inserted with ``INSERT ... SELECT``. DuckDB cannot add a
FOREIGN KEY after ``CREATE TABLE``, so foreign keys are declared up front and
checked as rows arrive; the PRIMARY KEY of each table is added right after its last
batch (before any child is created), which measured faster than maintaining the
index row by row (``key_timing = "table"``, docs/benchmarks.md). DuckDB names key
constraints itself (``<table>_<column>_pkey``), deterministically.

Reading: scans come back as Arrow; the loader's frontier or id list is registered
as a zero-copy Arrow view, so a hop is one vectorized join inside DuckDB, and the
hop keeps its ``max_width`` children with DuckDB's top-N aggregate.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import duckdb
import duckdb_engine
import numpy as np
import pyarrow as pa
import sqlalchemy as sa

from plurel_sql.dialects.base import Relations
from plurel_sql.dialects.filebased import FileDialect
from plurel_sql.dialects.loader_sql import FRONTIER, EdgeSpec
from plurel_sql.uuids import uuid_array, uuid_bytes

BATCH_VIEW = "__plurel_batch"
#: block size of the files this package creates (DuckDB's smallest; default 256 KiB).
#: A generated database has many small tables and DuckDB gives every table's column
#: data, keys and metadata blocks of their own, so 256 KiB blocks left a default
#: database mostly empty space (seed 0: 15.7 MB -> 2.0 MB, docs/benchmarks.md).
#: Only a new file takes it; an existing file keeps its block size.
BLOCK_SIZE = 16384
LEVEL_COLUMN = "__plurel_level"


class DuckDBDialect(FileDialect):
    name = "duckdb"
    key_timing = "table"
    driver_modules = ("duckdb", "_duckdb")

    def _make_sa_dialect(self) -> sa.engine.Dialect:
        return duckdb_engine.Dialect(paramstyle="qmark")

    def reflection_sa_url(self) -> sa.URL:
        from plurel_sql.dialects import duckdb_catalog  # registers the catalog dialect

        return self.url.sa_url.set(drivername=f"duckdb+{duckdb_catalog.DRIVER}")

    def sa_driver_connection(self, native: Any) -> Any:
        return duckdb_engine.ConnectionWrapper(native)  # what duckdb-engine's cursors expect

    def _open(self, path: str, read_only: bool = False) -> Any:
        try:
            if read_only:
                return duckdb.connect(path, read_only=True)
            return duckdb.connect(path, config={"default_block_size": str(BLOCK_SIZE)})
        except duckdb.Error as exc:
            raise self.error("cannot open DuckDB database", exc) from None

    def _begin(self, con: Any) -> None:
        con.begin()

    def _commit(self, con: Any) -> None:
        con.commit()
        con.execute("CHECKPOINT")

    def intermediate_commit(self, con: Any) -> None:
        con.commit()  # no CHECKPOINT: the final commit writes everything once
        con.begin()

    def _rollback(self, con: Any) -> None:
        con.rollback()

    def execute(
        self, con: Any, stmt: Any, params: Mapping[str, Any] | Sequence[Any] | None = None
    ) -> Any:
        """Run on ``con`` itself: a DuckDB ``cursor()`` is a separate connection with its
        own transaction, which would not see the write session's uncommitted tables."""
        if isinstance(stmt, str):
            sql, args = stmt, params
        else:
            sql, convert = self.compile(stmt)
            args = convert(params)
        return con.execute(sql, args) if args else con.execute(sql)

    def executemany(self, con: Any, stmt: Any, rows: list[dict[str, Any]]) -> None:
        sql, convert = self.compile(stmt)
        con.executemany(sql, [convert(r) for r in rows])

    def list_tables(self, con: Any) -> set[str]:
        rows = con.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
        ).fetchall()
        return {r[0] for r in rows}

    def load_batch(self, con: Any, table: sa.Table, batch: pa.RecordBatch) -> None:
        """One INSERT ... SELECT from the registered batch; for a self-referencing
        table one per level of the batch's forest (DuckDB checks a foreign key
        against the rows of earlier statements only)."""
        columns = ", ".join(self.quote(c) for c in batch.schema.names)
        levels = self_reference_levels(table, batch)
        insert = (
            f"INSERT INTO {self.quote_table(table)} ({columns}) SELECT {columns} FROM {BATCH_VIEW}"
        )
        if levels is not None:
            batch = batch.append_column(LEVEL_COLUMN, pa.array(levels))
        con.register(BATCH_VIEW, batch)
        try:
            if levels is None:
                con.execute(insert)
            for level in range(int(levels.max()) + 1 if levels is not None else 0):
                con.execute(f"{insert} WHERE {LEVEL_COLUMN} = ?", [level])
        finally:
            with contextlib.suppress(duckdb.Error):  # keep the insert's own error
                con.unregister(BATCH_VIEW)

    def analyze(self, con: Any, tables: list[sa.Table]) -> None:
        con.execute("ANALYZE")

    def scan(
        self, con: Any, table: sa.Table, arrow_schema: pa.Schema, chunk_rows: int = 65536
    ) -> Iterator[pa.RecordBatch]:
        stmt = sa.select(*[table.c[f.name] for f in arrow_schema]).order_by(
            *table.primary_key.columns
        )
        sql, _ = self.compile(stmt)
        reader = con.sql(sql).to_arrow_reader(chunk_rows)
        for batch in reader:
            if batch.num_rows:
                yield pa.RecordBatch.from_arrays(
                    [_as(col, f.type) for col, f in zip(batch.columns, arrow_schema, strict=True)],
                    schema=arrow_schema,
                )

    # ---------------------------------------------------------------- the loader
    def prepare_sampling(self, con: Any, edges: Sequence[EdgeSpec], offsets: Sequence[int]) -> None:
        con.execute("SET threads = 1")  # one core per loader process; workers add parallelism
        super().prepare_sampling(con, edges, offsets)
        # ART indexes let the hop's joins look nodes up instead of scanning all links
        con.execute("CREATE INDEX plurel_up_child ON plurel_up (child)")
        con.execute("CREATE INDEX plurel_down_parent ON plurel_down (parent)")

    def hop_sql(self, max_width: int) -> str:
        """The base hop with DuckDB's top-N aggregate instead of a ranked window:
        ``arg_min(key, key, n)`` keeps the ``n`` smallest (hash, node) keys per
        frontier node without sorting all candidates (measured ~1.5-2x faster
        here). Same rows as the window form: key = hash * 2**31 + node, exact in
        BIGINT because hash and node are below 2**31."""
        if max_width >= 1_000_000:  # arg_min's n limit: fall back to the window form
            return super().hop_sql(max_width)
        f = FRONTIER
        key = f"({self.hash_sql('f.salt', 'd.child')} * 2147483648 + d.child)"
        return (
            f"SELECT f.seq AS seq, u.parent AS node, 0 AS is_child "
            f"FROM {f} f JOIN plurel_up u ON u.child = f.node WHERE u.pts <= f.asof "
            "UNION ALL "
            "SELECT seq, unnest(kids) % 2147483648 AS node, 1 AS is_child FROM ("
            f"SELECT f.seq AS seq, arg_min({key}, {key}, {int(max_width)}) AS kids "
            f"FROM {f} f JOIN plurel_down d ON d.parent = f.node WHERE d.cts <= f.asof "
            "GROUP BY f.seq, f.node) k"
        )

    def epoch_seconds(self, expr: str) -> str:
        return f"(epoch_us({expr}) // 1000000)"

    @contextlib.contextmanager
    def bind_relations(self, con: Any, relations: Relations) -> Iterator[tuple[str, list[Any]]]:
        names = []
        try:
            for name, cols in relations.items():
                con.register(name, pa.table({k: pa.array(v) for k, v in cols.items()}))
                names.append(name)
            yield "", []
        finally:
            for name in names:
                con.unregister(name)

    def query_arrow(self, con: Any, sql: str, params: list[Any]) -> pa.Table:
        cur = con.execute(sql, params) if params else con.execute(sql)
        with warnings.catch_warnings():  # "extra copy" note: results here are small
            warnings.simplefilter("ignore")
            return cur.to_arrow_table()


def _as(col: pa.Array, arrow_type: pa.DataType) -> pa.Array:
    """A scanned column in the contract's type (DuckDB hands UUIDs back as text)."""
    if isinstance(arrow_type, pa.BaseExtensionType):
        return uuid_array(uuid_bytes(col), col.is_valid().to_numpy(zero_copy_only=False))
    return col.cast(arrow_type)


def self_reference_levels(table: sa.Table, batch: pa.RecordBatch) -> np.ndarray | None:
    """Per row of ``batch``, its depth below rows outside the batch along the table's
    one-column self-referencing foreign keys (0: no parent in the batch); None when
    the table has no such key."""
    links = [
        (fk.columns[0].name, fk.elements[0].column.name)
        for fk in table.foreign_key_constraints
        if fk.referred_table.name == table.name and len(fk.columns) == 1
    ]
    if not links:
        return None
    n = batch.num_rows
    level = np.zeros(n, dtype=np.int64)
    parents = []
    for child, key in links:
        keys = batch.column(key).to_numpy(zero_copy_only=False)
        order = np.argsort(keys, kind="stable")
        refs = batch.column(child)
        valid = refs.is_valid().to_numpy(zero_copy_only=False)
        values = refs.fill_null(keys[0] if n else 0).to_numpy(zero_copy_only=False)
        pos = np.minimum(np.searchsorted(keys[order], values), n - 1)
        found = valid & (keys[order][pos] == values)
        parents.append((found, order[pos]))
    for _ in range(n):
        new = np.zeros(n, dtype=np.int64)
        for found, parent in parents:
            new = np.maximum(new, np.where(found, level[parent] + 1, 0))
        if np.array_equal(new, level):
            return level
        level = new
    raise ValueError(f"table {table.name}: the batch's self references form a loop")
