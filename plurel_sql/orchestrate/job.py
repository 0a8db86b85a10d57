"""One database from (config, seed) into a URL: ``plurel_sql.generate``, the job
behind ``plurel-sql generate`` and every worker of ``generate-many``.

Kept in one place so every caller reports the same one-line errors: library errors
pass through, database-driver errors become a :class:`DatabaseError` whose message
has the URL's password removed, anything else is a bug and propagates.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from plurel_sql.config import Config, default_config, load_config
from plurel_sql.dialects import DatabaseURL, Engine, create_engine
from plurel_sql.errors import ConfigError, SchemaError
from plurel_sql.generator.stream import DEFAULT_CHUNK_ROWS, DatabaseGenerator
from plurel_sql.materialize.progress import Progress
from plurel_sql.materialize.writer import WriteResult, write_database
from plurel_sql.schema.from_sql import schema_from_sql
from plurel_sql.schema.ir import Schema

ConfigLike = Config | Mapping[str, Any] | str | os.PathLike | None


def as_config(config: ConfigLike) -> Config:
    """A validated Config from a Config, nested mappings (``{"database": {...}}``,
    missing keys take defaults), a TOML file path, or None (the defaults)."""
    if config is None:
        return default_config()
    if isinstance(config, Config):
        return config.validate()
    if isinstance(config, Mapping):
        return Config.from_dict(config)
    if isinstance(config, str | os.PathLike):
        return load_config(config)
    raise ConfigError(f"config must be a Config, a mapping, a TOML path or None, got {config!r}")


def generate(
    url: str | DatabaseURL | Engine,
    seed: int,
    config: ConfigLike = None,
    *,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    replace: bool = False,
    schema_sql: str | os.PathLike | None = None,
    schema_dialect: str | None = None,
    schema_from: Any = None,
    pg_schema: str | None = None,
    progress: Progress | None = None,
) -> WriteResult:
    """Generate database ``seed`` and write it atomically into ``url``.

    ``config``: a :class:`~plurel_sql.config.Config`, nested mappings, a TOML file
    or None (the defaults). ``replace`` overwrites an earlier generation (otherwise
    existing tables of the same names are a one-line error). The schema is drawn at
    random unless given: ``schema_sql`` is a DDL file (read by a SQL parser, never
    executed; ``schema_dialect``: postgresql, duckdb, sqlite or mysql, default
    guessed), ``schema_from`` a live database (a URL or an Engine), a
    ``"package.module:attribute"`` reference or a SQLAlchemy ``MetaData`` /
    declarative Base (docs/schemas.md). ``pg_schema`` overrides the ``?schema=`` of
    a PostgreSQL URL. ``progress`` reports per table (default: silent). Returns
    what was written (row counts, checksums, timings).
    """
    if schema_sql is not None and schema_from is not None:
        raise SchemaError("give schema_sql (--schema-sql) or schema_from (--schema-from), not both")
    engine = create_engine(url, pg_schema=pg_schema)
    config = as_config(config)
    schema = None
    if schema_sql is not None:
        schema = schema_from_sql(schema_sql, config, seed, schema_dialect)
    elif schema_from is not None:
        from plurel_sql.schema.reflect import schema_from_source

        schema = schema_from_source(schema_from, config, seed)
    return _write(engine, config, seed, schema, chunk_rows, replace, progress, fill=False)


def fill(
    url: str | DatabaseURL | Engine,
    seed: int = 0,
    config: ConfigLike = None,
    *,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    replace: bool = False,
    alembic_config: str | os.PathLike | None = None,
    pg_schema: str | None = None,
    progress: Progress | None = None,
) -> WriteResult:
    """Fill the existing, empty tables of the database at ``url`` in place, in one
    atomic unit, leaving their DDL as it is (``plurel-sql fill``).

    ``alembic_config``: an ``alembic.ini`` whose migrations first upgrade the
    database to head. The schema is read from the database itself (through the
    engine's read-only connection); ``plurel_meta`` is added. ``replace`` overwrites
    the ``plurel_meta`` of an earlier fill. Other arguments as for :func:`generate`.
    """
    from plurel_sql.schema.reflect import schema_from_source

    engine = create_engine(url, pg_schema=pg_schema)
    config = as_config(config)
    with engine.driver_errors():
        if alembic_config is not None:
            from plurel_sql.materialize.migrations import upgrade_to_head

            upgrade_to_head(engine.dialect, alembic_config)
        try:
            schema = schema_from_source(engine, config, seed)
        finally:
            engine.close()  # the writer opens its own (DuckDB: read-write) connection
    return _write(engine, config, seed, schema, chunk_rows, replace, progress, fill=True)


def _write(
    engine: Engine,
    config: Config,
    seed: int,
    schema: Schema | None,
    chunk_rows: int,
    replace: bool,
    progress: Progress | None,
    fill: bool,
) -> WriteResult:
    """Generate ``schema`` (None: a random one) and write it into ``engine``."""
    source = DatabaseGenerator(config, seed, chunk_rows=chunk_rows, schema=schema)
    progress = progress or Progress()
    try:
        with engine.driver_errors():  # driver errors mid-load: one line, password removed
            return write_database(
                source,
                engine,
                seed=seed,
                config=config.to_dict(),
                replace=replace,
                progress=progress,
                fill=fill,
            )
    except Exception:
        progress.close()
        raise
