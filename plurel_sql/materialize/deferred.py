"""Rows first, links after: foreign keys that close a cycle between tables, written
into a database whose keys already check every statement (``plurel-sql fill`` on
PostgreSQL, keys not DEFERRABLE).

Such a key's columns are loaded as NULL (the key is nullable: the schema builder
requires it) while their real values go to a temporary staging table; once every
table is loaded, one ``UPDATE ... FROM staging`` per table fills them in and the
engine checks them. Deferrable keys need none of this: the session defers them
(``SET CONSTRAINTS ALL DEFERRED``) and they are checked at commit.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import sqlalchemy as sa

from plurel_sql.dialects import Dialect
from plurel_sql.materialize.ddl import quoted, sa_type
from plurel_sql.schema.ir import Schema, Table


def deferred_columns(table: Table, dialect: Dialect, fill: bool) -> list[str]:
    """Columns of ``table`` to load NULL and fill in afterwards."""
    if not (fill and dialect.name == "postgresql"):
        return []
    out: list[str] = []
    for fk in table.foreign_keys:
        if fk.closes_cycle and fk.parent != table.name and not fk.deferrable:
            out += [c for c in fk.columns if c not in out]
    return out


class DeferredLinks:
    """Staging of the deferred columns of each table (see the module docstring)."""

    def __init__(self, dialect: Dialect, schema: Schema, fill: bool) -> None:
        self.dialect = dialect
        self.columns = {t.name: deferred_columns(t, dialect, fill) for t in schema.tables}
        self.staging: dict[str, tuple[Table, sa.Table, sa.Table]] = {}

    def start(self, con: Any, table: Table, target: sa.Table) -> None:
        """Create the table's staging table (call while the connection is idle)."""
        columns = self.columns.get(table.name)
        if not columns:
            return
        keep = [*table.primary_key, *columns]
        staging = sa.Table(
            quoted(f"plurel_links_{len(self.staging)}"),
            sa.MetaData(),
            *[
                sa.Column(quoted(c), sa_type(table.name, table.column(c), "postgresql"))
                for c in keep
            ],
            prefixes=["TEMPORARY"],
        )
        self.dialect.execute(con, sa.schema.CreateTable(staging))
        self.staging[table.name] = (table, target, staging)

    def split(
        self, table: Table, batch: pa.RecordBatch
    ) -> tuple[pa.RecordBatch, pa.RecordBatch | None]:
        """(the batch with the deferred columns NULL, the staging rows) of a batch."""
        columns = self.columns.get(table.name)
        if not columns:
            return batch, None
        keep = [*table.primary_key, *columns]
        staged = pa.RecordBatch.from_arrays([batch.column(c) for c in keep], names=keep)
        arrays = [
            pa.nulls(batch.num_rows, f.type) if f.name in columns else batch.column(i)
            for i, f in enumerate(batch.schema)
        ]
        return pa.RecordBatch.from_arrays(arrays, schema=batch.schema), staged

    def staging_table(self, table: Table) -> sa.Table:
        return self.staging[table.name][2]

    def finish(self, con: Any) -> None:
        """Fill every deferred column from its staging table, then drop the staging."""
        for table, target, staging in self.staging.values():
            columns = self.columns[table.name]
            match = sa.and_(*[target.c[k] == staging.c[k] for k in table.primary_key])
            stmt = sa.update(target).values({c: staging.c[c] for c in columns}).where(match)
            self.dialect.execute(con, stmt)
            self.dialect.execute(con, sa.schema.DropTable(staging))
