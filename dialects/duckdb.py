"""DuckDB (the embedded default): Arrow batches inserted with ``INSERT ... SELECT``.

DuckDB cannot add a FOREIGN KEY after ``CREATE TABLE``, so foreign keys are declared
up front and checked as rows arrive; the PRIMARY KEY of each table is added right
after its last batch (before any child is created), which measured faster than
maintaining the index row by row (``key_timing = "table"``, docs/benchmarks.md).
DuckDB names key constraints itself (``<table>_<column>_pkey``), deterministically.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import duckdb
import duckdb_engine
import pyarrow as pa
import sqlalchemy as sa

from plurel_sql.dialects.filebased import FileDialect

BATCH_VIEW = "__plurel_batch"


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
        columns = ", ".join(self.quote(c) for c in batch.schema.names)
        con.register(BATCH_VIEW, batch)
        try:
            con.execute(
                f"INSERT INTO {self.quote_table(table)} ({columns}) "
                f"SELECT {columns} FROM {BATCH_VIEW}"
            )
        finally:
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
                    [col.cast(f.type) for col, f in zip(batch.columns, arrow_schema, strict=True)],
                    schema=arrow_schema,
                )
