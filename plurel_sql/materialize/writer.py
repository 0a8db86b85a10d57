"""Write a stream of (table, Arrow batch) into one engine, atomically.

The source is anything shaped like :class:`~plurel_sql.generator.stream.DatabaseGenerator`
(``planned_schema``, ``batches()``, ``final_schema``). Tables are created when their
first batch arrives (the batch's table description is final), rows are bulk-loaded
per batch while a content checksum and the loader's column statistics are computed
from the same Arrow data, and finalization adds deferred keys, runs ANALYZE and
writes ``plurel_meta`` — all inside the dialect's atomic write session.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as sa_pg

from plurel_sql.checksum import TableChecksum
from plurel_sql.column_stats import TableStats
from plurel_sql.dialects import (
    META_TABLE,
    DatabaseURL,
    Dialect,
    Engine,
    WriteSession,
    create_engine,
)
from plurel_sql.dialects.base import RESERVED_PREFIX
from plurel_sql.errors import DatabaseError, SchemaError, SchemaProblems
from plurel_sql.materialize.ddl import build_metadata, build_table, engine_problems, enum_types
from plurel_sql.materialize.deferred import DeferredLinks
from plurel_sql.materialize.meta import meta_rows, parse_meta, write_meta
from plurel_sql.materialize.pipeline import BackgroundLoader
from plurel_sql.materialize.progress import Progress
from plurel_sql.schema.arrow import arrow_schema
from plurel_sql.schema.ir import Schema, Table


class BatchSource(Protocol):
    planned_schema: Schema

    def batches(self) -> Iterator[tuple[Table, pa.RecordBatch]]: ...

    @property
    def final_schema(self) -> Schema: ...


@dataclass
class WriteResult:
    """What was written and where the time went (seconds)."""

    url: str  # password masked
    where: str = ""  # the masked URL and a non-default PostgreSQL schema, for messages
    row_counts: dict[str, int] = field(default_factory=dict)
    checksums: dict[str, str] = field(default_factory=dict)
    cells: int = 0
    total_seconds: float = 0.0
    generate_seconds: float = 0.0
    load_seconds: float = 0.0
    finalize_seconds: float = 0.0
    #: seconds the background loader spent loading (overlapped with generation)
    worker_seconds: float = 0.0

    @property
    def rows(self) -> int:
        return sum(self.row_counts.values())


def normalize_batch(batch: pa.RecordBatch, expected: pa.Schema, table: str) -> pa.RecordBatch:
    """Check column names, cast to the contract types and turn NaN into NULL (SQLite
    cannot store NaN, so it is NULL everywhere)."""
    if batch.schema.names != expected.names:
        raise SchemaError(
            f"table {table}: batch columns {batch.schema.names} != schema {expected.names}"
        )
    arrays = []
    for col, f in zip(batch.columns, expected, strict=True):
        if col.type != f.type:
            col = col.cast(f.type)
        if pa.types.is_floating(f.type) and pc.any(pc.is_nan(col)).as_py():
            col = pc.if_else(pc.is_nan(col), pa.scalar(None, f.type), col)
        arrays.append(col)
    return pa.RecordBatch.from_arrays(arrays, schema=expected)


def _drop_previous(dialect: Dialect, session: WriteSession, new_names: set[str]) -> None:
    """Drop tables the new database replaces: the previous generation's (children
    first), any other table with a new table's name, and reserved ``plurel_*``
    tables (metadata, and caches earlier versions kept, such as ``plurel_stats``)."""
    existing = set(session.existing)
    order: list[str] = []
    if session.previous_meta:
        try:
            previous = parse_meta(session.previous_meta, dialect.url.masked)["schema"]
            order = [t.name for t in reversed(previous.tables)]
        except Exception:  # unreadable old metadata: fall back to name clashes
            order = []
    order += sorted(new_names - set(order))
    order += sorted(t for t in existing if t.startswith(RESERVED_PREFIX) and t not in order)
    for name in order:
        if name in existing:
            dialect.drop_table(session.con, name)
            existing.discard(name)


def write_database(
    source: BatchSource,
    target: str | DatabaseURL | Engine,
    *,
    seed: int,
    config: dict[str, Any],
    replace: bool = False,
    progress: Progress | None = None,
    fill: bool = False,
) -> WriteResult:
    """Write ``source`` into the database at ``target``; all or nothing (see module
    doc). Engine attributes (e.g. ``engine.dialect.key_timing``) are honoured.

    ``fill=True`` loads into the tables that already exist there (they must be
    empty), leaving their DDL as it is: no table, type or key is created; the
    engine checks the keys it declares while rows arrive (``plurel-sql fill``)."""
    dialect = create_engine(target).dialect
    if hasattr(dialect, "write"):  # a folder target (relbench://, parquet://): no SQL
        return dialect.write(
            source, seed=seed, config=config, replace=replace, progress=progress, fill=fill
        )
    problems = engine_problems(source.planned_schema, dialect.name)
    if problems:
        raise SchemaProblems(problems)
    progress = progress or Progress()
    result = WriteResult(url=dialect.url.masked, where=dialect.url.where)
    started = time.perf_counter()
    names = set(source.planned_schema.table_names) | {META_TABLE}
    clashing = {META_TABLE} if fill else names
    loader = BackgroundLoader()
    with dialect.write_session(lambda existing: existing & clashing, replace) as session:
        try:
            if fill:
                check_fill_targets(dialect, session, source.planned_schema)
            _write(source, dialect, session, seed, config, replace, progress, loader, result, fill)
        finally:
            loader.close()  # the worker is idle before commit or rollback
    result.total_seconds = time.perf_counter() - started
    progress.close()
    return result


def _write(
    source: BatchSource,
    dialect: Dialect,
    session: WriteSession,
    seed: int,
    config: dict[str, Any],
    replace: bool,
    progress: Progress,
    loader: BackgroundLoader,
    result: WriteResult,
    fill: bool,
) -> None:
    """The body of :func:`write_database` inside the atomic session."""
    con = session.con
    timing = "fill" if fill else dialect.key_timing
    if timing == "table" and not session.private:
        timing = "declared"  # per-table keys need intermediate commits (DuckDB)
    planned = source.planned_schema
    if fill:
        if replace:
            _drop_previous(dialect, session, {META_TABLE})
        if dialect.name == "postgresql":  # deferrable keys are checked at commit
            dialect.execute(con, "SET CONSTRAINTS ALL DEFERRED")
    else:
        dialect.create_schema(con)
        if replace:
            _drop_previous(dialect, session, set(planned.table_names) | {META_TABLE})
        if dialect.name != "sqlite":
            for enum in enum_types(planned):
                dialect.execute(con, sa_pg.CreateEnumType(enum))
    deferred = DeferredLinks(dialect, planned, fill)
    metadata = sa.MetaData()
    created: dict[str, tuple[Table, sa.Table]] = {}
    digests: dict[str, TableChecksum] = {}
    stats: dict[str, TableStats] = {}
    current: str | None = None
    expected: pa.Schema | None = None
    batches = iter(source.batches())
    while True:
        t0 = time.perf_counter()
        item = next(batches, None)
        t1 = time.perf_counter()
        result.generate_seconds += t1 - t0
        if item is None:
            break
        table, batch = item
        if table.name != current:
            loader.flush()  # the worker must be idle before DDL on the connection
            if current is not None:
                progress.finish_table()
            if table.name in created:
                raise SchemaError(f"table {table.name}: batches are not contiguous")
            if current is not None:
                _table_done(dialect, con, timing, created[current])
            sa_table = _create(dialect, con, timing, table, metadata, planned)
            deferred.start(con, table, sa_table)
            created[table.name] = (table, sa_table)
            digests[table.name] = TableChecksum(table)
            stats[table.name] = TableStats(table)
            current, expected = table.name, arrow_schema(table)
            result.row_counts[table.name] = 0
            progress.start_table(table.name, table.num_rows)
        batch = normalize_batch(batch, expected, table.name)
        digests[table.name].update(batch)
        stats[table.name].update(batch)
        batch, staged = deferred.split(table, batch)
        payload = dialect.prepare_batch(batch)  # overlaps the previous batch's load
        loader.submit(dialect.load_batch, con, created[table.name][1], payload)
        if staged is not None:
            staging = deferred.staging_table(table)
            loader.submit(dialect.load_batch, con, staging, dialect.prepare_batch(staged))
        result.row_counts[table.name] += batch.num_rows
        result.cells += batch.num_rows * batch.num_columns
        progress.advance(batch.num_rows)
        result.load_seconds += time.perf_counter() - t1
    loader.flush()
    result.load_seconds += loader.wait_seconds
    if current is not None:
        progress.finish_table()
        _table_done(dialect, con, timing, created[current])
    t2 = time.perf_counter()
    final = source.final_schema
    for table in final.tables:  # a table without batches is still created, empty
        if table.name not in created:
            sa_table = _create(dialect, con, timing, table, metadata, planned)
            _table_done(dialect, con, timing, (table, sa_table))
            created[table.name] = (table, sa_table)
            digests[table.name] = TableChecksum(table)
            stats[table.name] = TableStats(table)
            result.row_counts[table.name] = 0
    result.checksums = {name: digest.hexdigest() for name, digest in digests.items()}
    progress.phase("finalizing: keys, statistics, plurel_meta")
    deferred.finish(con)
    if timing == "end":
        _add_keys(dialect, con, final)
    if fill:
        restart_sequences(dialect, con, final, created)
    dialect.analyze(con, [sa_t for _t, sa_t in created.values()])
    rows = meta_rows(
        seed=seed,
        config=config,
        schema=final,
        row_counts=result.row_counts,
        checksums=result.checksums,
        column_stats={name: s.stored() for name, s in stats.items()},
    )
    write_meta(dialect, con, rows)
    progress.phase("committing")
    result.finalize_seconds = time.perf_counter() - t2
    result.worker_seconds = loader.busy_seconds


def _create(
    dialect: Dialect,
    con: Any,
    timing: str,
    table: Table,
    metadata: sa.MetaData,
    schema: Schema,
) -> sa.Table:
    """CREATE TABLE with the keys that ``timing`` (see Dialect.key_timing) declares.
    A self-referencing table declares its primary key up front: its foreign key needs
    the key to exist. ``fill``: the table exists; only its SQLAlchemy form is built."""
    if timing == "fill":  # with its keys: loaders read them (DuckDB's self references)
        return build_table(table, metadata, dialect.schema, engine=dialect.name, schema=schema)
    self_referencing = table.name in table.parents
    sa_table = build_table(
        table,
        metadata,
        dialect.schema,
        engine=dialect.name,
        keys=timing == "declared" or (timing == "table" and self_referencing),
        foreign_keys=timing != "end",
        schema=schema,
    )
    dialect.execute(con, sa.schema.CreateTable(sa_table))
    return sa_table


def _table_done(dialect: Dialect, con: Any, timing: str, created: tuple[Table, sa.Table]) -> None:
    """After a table's last batch: add its PRIMARY KEY when ``timing == "table"`` and
    commit, so children can reference it (DuckDB does not see an index added in the
    same transaction when checking foreign keys; the session is private, so
    intermediate commits are invisible to others)."""
    table, sa_table = created
    if timing != "table" or not table.primary_key or table.name in table.parents:
        return
    pk = build_table(
        table, sa.MetaData(), dialect.schema, engine=dialect.name, foreign_keys=False
    ).primary_key
    dialect.execute(con, sa.schema.AddConstraint(pk))
    dialect.intermediate_commit(con)


def _add_keys(dialect: Dialect, con: Any, schema: Schema) -> None:
    """ALTER TABLE ... ADD CONSTRAINT: all primary keys first, then foreign keys."""
    metadata = build_metadata(schema, dialect.schema, engine=dialect.name)
    tables = [metadata.tables[_key(dialect, t.name)] for t in schema.tables]
    for sa_table in tables:
        if sa_table.primary_key.columns:
            dialect.execute(con, sa.schema.AddConstraint(sa_table.primary_key))
    for sa_table in tables:
        for fk in sorted(sa_table.foreign_key_constraints, key=lambda c: str(c.name)):
            dialect.execute(con, sa.schema.AddConstraint(fk))


def _key(dialect: Dialect, name: str) -> str:
    """``MetaData.tables`` key of a table."""
    return f"{dialect.schema}.{name}" if dialect.schema else name


def check_fill_targets(dialect: Dialect, session: WriteSession, schema: Schema) -> None:
    """``fill`` needs every table of the schema, empty (one line naming the others)."""
    missing = [t.name for t in schema.tables if t.name not in session.existing]
    if missing:
        raise DatabaseError(
            f"cannot fill {dialect.url.masked}: table(s) {', '.join(missing)} do not exist"
        )
    metadata = build_metadata(schema, dialect.schema, keys=False)
    full = []
    for sa_table in metadata.tables.values():
        stmt = sa.select(sa.literal_column("1")).select_from(sa_table).limit(1)
        if dialect.fetchall(session.con, stmt):
            full.append(sa_table.name)
    if full:
        raise DatabaseError(
            f"cannot fill {dialect.url.masked}: table(s) {', '.join(sorted(full))} are not empty"
        )


def restart_sequences(
    dialect: Dialect, con: Any, schema: Schema, created: dict[str, tuple[Table, sa.Table]]
) -> None:
    """After filling PostgreSQL, SERIAL / IDENTITY sequences continue after the
    largest value written, so the application's next INSERT does not collide."""
    if dialect.name != "postgresql":
        return
    for table in schema.tables:
        sa_table = created[table.name][1]
        for column in table.columns:
            if not column.autoincrement:
                continue
            qualified = dialect.quote_table(sa_table)
            top = f"SELECT COALESCE(max({dialect.quote(column.name)}), 0) + 1 FROM {qualified}"
            sql = f"SELECT setval(pg_get_serial_sequence(%s, %s), ({top}), false)"
            with con.cursor() as cur:
                cur.execute("SELECT pg_get_serial_sequence(%s, %s)", [qualified, column.name])
                if cur.fetchone()[0] is not None:
                    cur.execute(sql, [qualified, column.name])
