"""DuckDB (the embedded default): Arrow batches inserted with ``INSERT ... SELECT``.

DuckDB cannot add a FOREIGN KEY after ``CREATE TABLE``, so foreign keys are declared
up front and checked as rows arrive; the PRIMARY KEY of each table is added right
after its last batch (before any child is created), which measured faster than
maintaining the index row by row (``key_timing = "table"``, docs/benchmarks.md).
DuckDB names key constraints itself (``<table>_<column>_pkey``), deterministically.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import duckdb
import duckdb_engine
import numpy as np
import pyarrow as pa
import sqlalchemy as sa

from plurel_sql.dialects.filebased import FileDialect
from plurel_sql.uuids import uuid_array, uuid_bytes

BATCH_VIEW = "__plurel_batch"
LEVEL_COLUMN = "__plurel_level"


class DuckDBDialect(FileDialect):
    name = "duckdb"
    key_timing = "table"

    def _make_sa_dialect(self) -> sa.engine.Dialect:
        return duckdb_engine.Dialect(paramstyle="qmark")

    def _open(self, path: str, read_only: bool = False) -> Any:
        try:
            return duckdb.connect(path, read_only=read_only)
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

    def execute(self, con: Any, stmt: Any, params: dict[str, Any] | None = None) -> Any:
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
