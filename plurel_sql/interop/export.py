"""``plurel-sql export URL --format relbench|parquet DIR``: a generated database, read
from its engine, written into a folder.

The tables are scanned in primary-key order through the engine's read-only
connection (the scans ``verify`` uses) and streamed into
:func:`~plurel_sql.interop.folder.write_folder`, which recomputes every checksum on
the way: a table whose content differs from what ``plurel_meta`` records fails the
export before the folder is put in place. Needs a database written by plurel-sql
(``generate`` or ``fill``): the cut-offs, seed and schema come from ``plurel_meta``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from plurel_sql.dialects import DatabaseURL, Engine, using_engine
from plurel_sql.interop.folder import write_folder
from plurel_sql.materialize.ddl import build_metadata
from plurel_sql.materialize.meta import read_meta_from
from plurel_sql.materialize.progress import Progress
from plurel_sql.materialize.writer import WriteResult
from plurel_sql.schema.arrow import arrow_schema
from plurel_sql.schema.ir import Schema, Table


@dataclass
class EngineSource:
    """The tables of an open database as a batch source (``writer.BatchSource``)."""

    engine: Engine
    planned_schema: Schema
    chunk_rows: int = 65536

    @property
    def final_schema(self) -> Schema:
        return self.planned_schema

    def batches(self) -> Iterator[tuple[Table, pa.RecordBatch]]:
        dialect, con = self.engine.dialect, self.engine.connection()
        metadata = build_metadata(self.planned_schema, dialect.schema)
        by_name = {t.name: t for t in metadata.tables.values()}
        for table in self.planned_schema.tables:
            for batch in dialect.scan(
                con, by_name[table.name], arrow_schema(table), self.chunk_rows
            ):
                yield table, batch


def export(
    url: str | DatabaseURL | Engine,
    directory: str | os.PathLike,
    layout: str = "relbench",
    *,
    replace: bool = False,
    progress: Progress | None = None,
    chunk_rows: int = 65536,
) -> WriteResult:
    """Write the database at ``url`` into ``directory`` in ``layout`` (``relbench`` or
    ``parquet``); returns what was written. One-line errors for bad URLs, databases
    without ``plurel_meta``, unusable folders and checksum mismatches."""
    with using_engine(url) as engine:
        meta: dict[str, Any] = read_meta_from(engine.dialect, engine.connection())
        source = EngineSource(engine, meta["schema"], chunk_rows)
        return write_folder(
            source,
            directory,
            layout,
            seed=meta["seed"],
            config=meta["config"],
            where=str(directory),
            replace=replace,
            progress=progress,
            expect_checksums=meta["checksums"],
            origin=engine.url.masked,
        )
