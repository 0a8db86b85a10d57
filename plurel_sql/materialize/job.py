"""One database from (config, seed) into a URL: the job behind ``plurel-sql
generate`` and every worker of ``generate-many``.

Kept in one place so both report the same one-line errors: library errors pass
through, database-driver errors become a :class:`DatabaseError` whose message has
the URL's password removed, anything else is a bug and propagates.
"""

from __future__ import annotations

from plurel_sql.config import Config
from plurel_sql.dialects import Dialect, get_dialect, parse_url
from plurel_sql.errors import DatabaseError, PlurelError
from plurel_sql.generate.stream import DEFAULT_CHUNK_ROWS, DatabaseGenerator
from plurel_sql.materialize.progress import Progress
from plurel_sql.materialize.writer import WriteResult, write_database
from plurel_sql.schema.from_sql import schema_from_sql

DRIVER_MODULES = ("duckdb", "_duckdb", "psycopg", "sqlite3")


def driver_error(dialect: Dialect, exc: Exception) -> DatabaseError | None:
    """A one-line error for a database driver's exception; None for anything else."""
    if type(exc).__module__.split(".")[0] in DRIVER_MODULES:
        return dialect.error("database error", exc)
    return None


def generate_database(
    url: str,
    config: Config,
    seed: int,
    *,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    replace: bool = False,
    schema_sql: str | None = None,
    pg_schema: str | None = None,
    progress: Progress | None = None,
) -> tuple[Dialect, WriteResult]:
    """Generate and write one database atomically; returns the target and result."""
    dialect = get_dialect(parse_url(url, pg_schema=pg_schema))
    schema = schema_from_sql(schema_sql, config, seed) if schema_sql else None
    source = DatabaseGenerator(config, seed, chunk_rows=chunk_rows, schema=schema)
    progress = progress or Progress()
    try:
        result = write_database(
            source, dialect, seed=seed, config=config.to_dict(), replace=replace, progress=progress
        )
    except PlurelError:
        progress.close()
        raise
    except Exception as exc:  # driver errors mid-load: one line, password removed
        progress.close()
        error = driver_error(dialect, exc)
        if error is None:
            raise
        raise error from None
    return dialect, result
