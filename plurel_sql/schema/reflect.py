"""A Schema IR from a live database (``--schema-from URL``, ``fill URL``) or from a
user's SQLAlchemy models (``--schema-from package.module:attribute``).

- PostgreSQL: SQLAlchemy reflection of the URL's schema (tables, types, keys,
  UNIQUE and CHECK constraints, defaults, identity/serial columns).
- DuckDB and SQLite: the engines keep every table's DDL in their catalogs
  (``duckdb_tables().sql``, ``sqlite_master.sql``), which is parsed like a DDL file;
  duckdb-engine's own SQLAlchemy reflection does not work with SQLAlchemy 2.1 (see
  ``dialects.duckdb_catalog``), and SQLite's declared type names are kept exactly
  this way. DuckDB does not store
  VARCHAR lengths (plurel-sql's own DDL keeps them as CHECKs) nor which named ENUM
  a column uses (recovered when exactly one named ENUM has its labels).

Tables named ``plurel_*`` (metadata, readers' caches) and Alembic's
``alembic_version`` are never part of it.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from plurel_sql.config import Config
from plurel_sql.dialects import DatabaseURL, Engine, using_engine
from plurel_sql.errors import SchemaError
from plurel_sql.schema.build import finish_schema
from plurel_sql.schema.from_sql import log
from plurel_sql.schema.from_sqlalchemy import tables_from_metadata
from plurel_sql.schema.ir import Schema
from plurel_sql.schema.sql_parse import Declared, parse_ddl


def is_models_reference(source: str) -> bool:
    """``package.module:attribute`` rather than a database URL."""
    return "://" not in source and ":" in source


def declared_from_database(engine: Engine) -> Declared:
    """The declared tables of the database behind ``engine``, read through its
    shared read-only connection (the caller closes the engine)."""
    dialect = engine.dialect
    where = engine.url.masked
    con = engine.connection()
    if dialect.name == "duckdb":
        return declared_from_duckdb(con, where)
    if dialect.name == "sqlite":
        rows = con.execute(
            "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' "
            "AND name NOT LIKE 'plurel_%' AND tbl_name <> 'alembic_version' "
            "AND type IN ('table', 'index') ORDER BY rowid"
        ).fetchall()
        return _parsed([r[0] for r in rows], "sqlite", where)
    metadata = sa.MetaData()
    with engine.sqlalchemy_connection() as connection:
        metadata.reflect(bind=connection, schema=dialect.schema)
    return tables_from_metadata(metadata, where, skip=("alembic_version",))


def _parsed(statements: list[str], dialect: str, where: str) -> Declared:
    declared = parse_ddl(";\n".join(statements), dialect, where)
    if not declared.tables and not declared.problems:
        declared.problems = [f"{where}: no tables to fill"]
    return declared


def declared_from_duckdb(con: Any, where: str) -> Declared:
    """The declared tables of the DuckDB database behind native connection ``con``,
    from the DDL its catalog keeps (also the source of ``dialects.duckdb_catalog``'s
    SQLAlchemy reflection)."""
    tables = con.execute(
        "SELECT sql FROM duckdb_tables() WHERE database_name = current_database() "
        "AND schema_name = current_schema() AND table_name NOT LIKE 'plurel_%' "
        "AND table_name <> 'alembic_version' "
        "ORDER BY table_oid"
    ).fetchall()
    declared = _parsed([r[0] for r in tables], "duckdb", where)
    named = con.execute(
        "SELECT type_name, labels FROM duckdb_types() WHERE logical_type = 'ENUM' "
        "AND database_name = current_database() AND labels IS NOT NULL"
    ).fetchall()
    by_labels: dict[tuple[str, ...], list[str]] = {}
    for name, labels in named:
        by_labels.setdefault(tuple(labels), []).append(name)
    for table in declared.tables:
        for column in table.columns:
            if column.type.name == "enum" and column.type.enum_name is None:
                names = by_labels.get(tuple(column.type.labels or []), [])
                if len(names) == 1:
                    column.type.enum_name = names[0]
    return declared


def declared_from_models(reference: str) -> Declared:
    """The declared tables of a MetaData (or a declarative Base's) at
    ``package.module:attribute``, imported from the current directory or sys.path."""
    module_name, _, attribute = reference.partition(":")
    if not module_name or not attribute:
        raise SchemaError(f"--schema-from {reference!r}: expected package.module:attribute")
    if str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise SchemaError(
            f"--schema-from {reference}: cannot import {module_name}: {exc}"
        ) from None
    target = module
    for part in attribute.split("."):
        if not hasattr(target, part):
            raise SchemaError(f"--schema-from {reference}: {module_name} has no {attribute}")
        target = getattr(target, part)
    return tables_from_metadata(models_metadata(target, f"--schema-from {reference}"), reference)


def models_metadata(models: Any, what: str) -> sa.MetaData:
    """The MetaData of a SQLAlchemy ``MetaData`` or declarative Base (its
    ``.metadata``); anything else is a one-line error naming ``what``."""
    metadata = getattr(models, "metadata", models)
    if not isinstance(metadata, sa.MetaData):
        raise SchemaError(f"{what}: not a SQLAlchemy MetaData or declarative Base")
    return metadata


def schema_from_source(source: Any, config: Config, seed: int) -> Schema:
    """The Schema IR of ``source``: a database (URL or Engine), a models reference
    ``package.module:attribute``, or a MetaData / declarative Base object. A database
    URL is parsed once and read through one read-only connection, closed at the
    end; a given Engine stays open."""
    if isinstance(source, str) and is_models_reference(source):
        declared, origin = declared_from_models(source), "models"
    elif isinstance(source, str | DatabaseURL | Engine):
        with using_engine(source) as engine:
            declared, origin = declared_from_database(engine), "database"
    else:
        metadata = models_metadata(source, f"schema_from={type(source).__name__}")
        declared, origin = tables_from_metadata(metadata, "models"), "models"
    for note in declared.notes:
        log.info(note)
    return finish_schema(declared.tables, config, seed, origin, declared.problems)
