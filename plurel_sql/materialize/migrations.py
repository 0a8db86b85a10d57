"""Alembic: migrate a target to head before ``fill``, and report drift between the
schema stored in ``plurel_meta`` and the live database (``verify``).

Drift is Alembic's own autogenerate comparison (``compare_metadata``) of the
SQLAlchemy MetaData built from the stored IR against the database's reflection:
tables and columns added or removed, types, nullability, keys and UNIQUE
constraints that differ. On DuckDB, reflection reads DuckDB's catalog
(``dialects.duckdb_catalog``: duckdb-engine's own reflection fails under
SQLAlchemy 2.1).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa

from plurel_sql.dialects import Dialect, Engine
from plurel_sql.errors import DatabaseError
from plurel_sql.materialize.ddl import build_metadata
from plurel_sql.schema.ir import Schema
from plurel_sql.schema.sqltypes import SqlType

#: Differences that do not shape the data: comments (the IR keeps none).
IGNORED = (
    "add_table_comment",
    "remove_table_comment",
    "modify_comment",
    "add_index",
    "remove_index",
)


def _sa_url(dialect: Dialect) -> sa.URL:
    """The target's SQLAlchemy URL; a PostgreSQL schema becomes the search_path."""
    url = dialect.url.sa_url
    if dialect.name == "postgresql" and dialect.schema not in (None, "public"):
        url = url.update_query_dict({"options": f"-csearch_path={dialect.schema}"})
    return url


def upgrade_to_head(dialect: Dialect, ini: str | Path) -> None:
    """``alembic upgrade head`` on the target with the user's migrations."""
    from alembic import command
    from alembic.config import Config

    if dialect.name == "duckdb":
        from plurel_sql.dialects import duckdb_catalog  # noqa: F401  Alembic's DuckDB impl

    path = Path(ini)
    if not path.is_file():
        raise DatabaseError(f"--alembic-config {path}: no such file")
    config = Config(str(path))
    url = _sa_url(dialect).render_as_string(hide_password=False)
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    script = config.get_main_option("script_location")
    if script and not Path(script).is_absolute():  # relative to the ini, as alembic's CLI
        config.set_main_option("script_location", str(path.parent / script))
    try:
        command.upgrade(config, "head")
    except Exception as exc:
        raise dialect.error("alembic upgrade head failed", exc) from None


def schema_drift(engine: Engine, schema: Schema) -> list[str]:
    """One line per difference between ``schema`` and the live database (Alembic's
    comparison, on the engine's read-only connection)."""
    dialect = engine.dialect
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    names = set(schema.table_names)
    # unqualified: the connection's search_path is the schema, so reflection sees the
    # tables in its default schema
    metadata = build_metadata(schema, None, engine=dialect.name)
    if dialect.name == "duckdb":  # DuckDB keeps no constraint names: compare by columns
        for table in metadata.tables.values():
            for constraint in table.constraints:
                if isinstance(constraint, sa.UniqueConstraint):
                    constraint.name = None

    def include(obj: Any, name: str | None, kind: str, reflected: bool, compare_to: Any) -> bool:
        if kind == "table":
            return name in names
        # indexes do not shape the data (the IR does not keep them); unique ones are
        # compared as UNIQUE constraints
        return kind != "index" or bool(getattr(obj, "unique", False))

    with engine.sqlalchemy_connection() as connection:
        context = MigrationContext.configure(
            connection,
            opts={
                "compare_type": _type_comparison(dialect.name, connection, schema),
                "include_object": include,
                "include_schemas": False,
                "target_metadata": metadata,
            },
        )
        diffs = [d for d in _flatten(compare_metadata(context, metadata)) if d[0] not in IGNORED]
        if dialect.name == "sqlite":
            diffs = [d for d in diffs if not _sqlite_false_drift(connection, schema, d)]
    return [describe_diff(d) for d in diffs]


def _type_comparison(engine: str, connection: Any, schema: Schema) -> Any:
    """Alembic's ``compare_type`` option for ``engine``: True (its own comparison)
    where the catalog keeps declared types as they are."""
    if engine == "sqlite":
        return _sqlite_types(connection, schema)
    if engine == "duckdb":
        return _duckdb_types(schema)
    return True


def _duckdb_types(schema: Schema):
    """DuckDB keeps CHAR(n) and VARCHAR(n) as VARCHAR (plurel-sql's DDL bounds the
    length with a CHECK instead), so a declared character type matches any string
    type; every other type is compared by Alembic."""

    def compare(context, inspected_column, metadata_column, inspected_type, metadata_type):
        declared = schema.table(metadata_column.table.name).column(metadata_column.name).type
        if declared.is_text:
            return not isinstance(inspected_type, sa.String)
        return None

    return compare


def _sqlite_types(connection: Any, schema: Schema):
    """Alembic's type comparison for SQLite, on the declared type text: SQLAlchemy
    reflects type names it does not know (UUID, TINYINT, ... UNSIGNED) as their
    affinity, while SQLite keeps the text verbatim; the text is read as an IR type
    and compared with plurel_meta's (so synonyms such as DATETIME and TIMESTAMP
    agree)."""
    from plurel_sql.schema.sql_parse import parse_type

    declared: dict[tuple[str, str], str] = {}

    def text_of(table: str, column: str) -> str | None:
        if not any(t == table for t, _c in declared):
            quoted = '"' + table.replace('"', '""') + '"'
            for row in connection.exec_driver_sql(f"PRAGMA table_info({quoted})"):
                declared[(table, row[1])] = row[2]
            declared.setdefault((table, ""), "")
        return declared.get((table, column))

    def compare(context, inspected_column, metadata_column, inspected_type, metadata_type):
        table, name = metadata_column.table.name, metadata_column.name
        text = text_of(table, name)
        if text is None:
            return None
        declared = schema.table(table).column(name)
        if declared.type.is_integer and schema.table(table).primary_key == [name]:
            return text.upper() not in ("INTEGER", declared.type.sql())  # the rowid alias
        found = parse_type(text, "sqlite")
        expected = declared.type
        if expected.name == "enum":  # stored as TEXT with a CHECK of its labels
            return found is None or found.name != "text"
        return found is None or _sqlite_key(found) != _sqlite_key(expected)

    return compare


def _sqlite_false_drift(connection: Any, schema: Schema, diff: tuple) -> bool:
    """What SQLAlchemy's SQLite reflection misreads: an INTEGER PRIMARY KEY (the
    rowid, never NULL) reported nullable, and a UNIQUE declared on a column, which
    SQLite keeps as a unique index."""
    if diff[0] == "modify_nullable":
        table = schema.table(diff[2])
        return table.primary_key == [diff[3]] and table.column(diff[3]).type.is_integer
    if diff[0] == "add_constraint" and type(diff[1]).__name__ == "UniqueConstraint":
        name = diff[1].table.name
        columns = [c.name for c in diff[1].columns]
        quoted = '"' + name.replace('"', '""') + '"'
        for index in connection.exec_driver_sql(f"PRAGMA index_list({quoted})").fetchall():
            if index[2]:  # unique
                iq = '"' + index[1].replace('"', '""') + '"'
                info = connection.exec_driver_sql(f"PRAGMA index_info({iq})").fetchall()
                if [row[2] for row in info] == columns:
                    return True
    return False


def _sqlite_key(t: SqlType) -> tuple:
    """What SQLite's declared type text can tell apart: REAL is SQLite's double,
    UNSIGNED is kept as a CHECK."""
    name = "double" if t.name == "real" else t.name
    return name, t.length, t.precision, t.scale


def _flatten(diffs: list) -> list:
    out = []
    for diff in diffs:
        if isinstance(diff, list):
            out.extend(diff)
        else:
            out.append(diff)
    return out


def describe_diff(diff: tuple) -> str:
    """An Alembic diff tuple as one line."""
    kind = diff[0]
    if kind in ("add_table", "remove_table"):
        where = "missing from the database" if kind == "add_table" else "not in plurel_meta"
        return f"table {diff[1].name}: {where}"
    if kind in ("add_column", "remove_column"):
        where = "missing from the database" if kind == "add_column" else "not in plurel_meta"
        return f"column {diff[2]}.{diff[3].name}: {where}"
    if kind == "modify_type":
        _, _schema, table, column, _info, old, new = diff
        return f"column {table}.{column}: type {old} in the database, {new} in plurel_meta"
    if kind == "modify_nullable":
        _, _schema, table, column, _info, old, new = diff
        return (
            f"column {table}.{column}: {'NULL' if old else 'NOT NULL'} in the database, "
            f"{'NULL' if new else 'NOT NULL'} in plurel_meta"
        )
    if kind in ("add_fk", "remove_fk", "add_constraint", "remove_constraint"):
        constraint = diff[1]
        where = "missing from the database" if kind.startswith("add") else "not in plurel_meta"
        columns = ", ".join(c.name for c in getattr(constraint, "columns", []))
        return f"{type(constraint).__name__} {constraint.table.name} ({columns}): {where}"
    return " ".join(str(part) for part in diff)
