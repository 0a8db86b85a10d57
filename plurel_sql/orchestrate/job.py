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
from plurel_sql.errors import ConfigError
from plurel_sql.generator.stream import DEFAULT_CHUNK_ROWS, DatabaseGenerator
from plurel_sql.materialize.progress import Progress
from plurel_sql.materialize.writer import WriteResult, write_database
from plurel_sql.schema.from_sql import schema_from_sql

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
    pg_schema: str | None = None,
    progress: Progress | None = None,
) -> WriteResult:
    """Generate database ``seed`` and write it atomically into ``url``.

    ``config``: a :class:`~plurel_sql.config.Config`, nested mappings, a TOML file
    or None (the defaults). ``replace`` overwrites an earlier generation (otherwise existing
    tables of the same names are a one-line error). ``schema_sql`` takes the tables
    and keys of a file of CREATE TABLE statements. ``pg_schema`` overrides the
    ``?schema=`` of a PostgreSQL URL. ``progress`` reports per table (default:
    silent). Returns what was written (row counts, checksums, timings).
    """
    engine = create_engine(url, pg_schema=pg_schema)
    config = as_config(config)
    schema = schema_from_sql(schema_sql, config, seed) if schema_sql else None
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
            )
    except Exception:
        progress.close()
        raise
