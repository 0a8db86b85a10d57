"""One database from (config, seed) into a URL: the job behind ``plurel-sql
generate`` and every worker of ``generate-many``.

Kept in one place so both report the same one-line errors: library errors pass
through, database-driver errors become a :class:`DatabaseError` whose message has
the URL's password removed, anything else is a bug and propagates.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from plurel_sql.config import Config
from plurel_sql.dialects import Dialect, get_dialect, parse_url
from plurel_sql.errors import PlurelError, SchemaError
from plurel_sql.generate.stream import DEFAULT_CHUNK_ROWS, DatabaseGenerator
from plurel_sql.materialize.progress import Progress
from plurel_sql.materialize.writer import WriteResult, write_database
from plurel_sql.schema.from_sql import schema_from_sql

DRIVER_MODULES = ("duckdb", "_duckdb", "psycopg", "sqlite3", "sqlalchemy", "alembic")


@contextmanager
def driver_errors(dialect: Dialect) -> Iterator[None]:
    """Inside, a database driver's exception becomes a one-line :class:`DatabaseError`
    (password removed); library errors and anything else (a bug) pass through."""
    try:
        yield
    except PlurelError:
        raise
    except Exception as exc:
        if type(exc).__module__.split(".")[0] not in DRIVER_MODULES:
            raise
        raise dialect.error("database error", exc) from None


def generate_database(
    url: str,
    config: Config,
    seed: int,
    *,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    replace: bool = False,
    schema_sql: str | None = None,
    schema_dialect: str | None = None,
    schema_from: str | None = None,
    pg_schema: str | None = None,
    progress: Progress | None = None,
    fill: bool = False,
) -> tuple[Dialect, WriteResult]:
    """Generate and write one database atomically; returns the target and result.

    The schema comes from ``schema_sql`` (a DDL file), ``schema_from`` (a database
    URL or ``package.module:attribute`` models), the target itself (``fill=True``:
    its existing empty tables are filled in place) or is drawn at random."""
    if schema_sql and schema_from:
        raise SchemaError("give --schema-sql or --schema-from, not both")
    dialect = get_dialect(parse_url(url, pg_schema=pg_schema))
    if fill:
        schema_from = url
    schema = None
    if schema_sql:
        schema = schema_from_sql(schema_sql, config, seed, schema_dialect)
    elif schema_from:
        from plurel_sql.schema.reflect import schema_from_source

        with driver_errors(dialect):
            schema = schema_from_source(schema_from, config, seed, pg_schema if fill else None)
    source = DatabaseGenerator(config, seed, chunk_rows=chunk_rows, schema=schema)
    progress = progress or Progress()
    try:
        with driver_errors(dialect):  # driver errors mid-load: one line, password removed
            result = write_database(
                source,
                dialect,
                seed=seed,
                config=config.to_dict(),
                replace=replace,
                progress=progress,
                fill=fill,
            )
    except Exception:
        progress.close()
        raise
    return dialect, result
