"""SQLAlchemy reflection of DuckDB read from DuckDB's own catalog, so that Alembic's
comparison (``verify``'s drift check) and ``alembic upgrade`` work on DuckDB too.

duckdb-engine inherits PostgreSQL's reflection queries, which ask for
``pg_catalog.pg_collation``; DuckDB has no such table, so every column reflection
fails under SQLAlchemy 2.1. This dialect answers SQLAlchemy's reflection calls from
the tables' DDL as DuckDB stores it (``duckdb_tables().sql``), parsed into the
schema IR like any DDL file (``schema.reflect``), and renders column types with the
same mapping the writer uses, so a database plurel-sql wrote compares equal to the
schema in its ``plurel_meta``. It is registered with SQLAlchemy as
``duckdb+plurel_catalog`` and keeps the dialect name ``duckdb``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import duckdb_engine
from alembic.ddl.postgresql import PostgresqlImpl
from sqlalchemy.dialects import registry

DRIVER = "plurel_catalog"


class DuckDBAlembicImpl(PostgresqlImpl):
    """Alembic's operations on DuckDB: PostgreSQL's SQL, transactional DDL."""

    __dialect__ = "duckdb"
    transactional_ddl = True


class CatalogDialect(duckdb_engine.Dialect):
    """duckdb-engine with reflection from DuckDB's catalog (see the module doc)."""

    supports_statement_cache = False

    def _tables(self, connection: Any, info_cache: dict | None) -> dict[str, Any]:
        """Name -> IR table of every user table, read once per reflection run."""
        cache = info_cache if info_cache is not None else {}
        key = ("plurel_catalog", "tables")
        if key not in cache:
            from plurel_sql.schema.reflect import declared_from_duckdb

            declared = declared_from_duckdb(connection.connection.driver_connection, "duckdb")
            cache[key] = {table.name: table for table in declared.tables}
        return cache[key]

    def _each(
        self, connection: Any, schema: str | None, filter_names: Iterable[str] | None, kw: dict
    ) -> Iterable[tuple[tuple[str | None, str], Any]]:
        tables = self._tables(connection, kw.get("info_cache"))
        names = tables if filter_names is None else [n for n in filter_names if n in tables]
        for name in names:
            yield (schema, name), tables[name]

    def get_table_names(self, connection: Any, schema: str | None = None, **kw: Any) -> list[str]:
        return list(self._tables(connection, kw.get("info_cache")))

    def has_table(self, connection: Any, table_name: str, schema: str | None = None, **kw: Any):
        return table_name in self._tables(connection, kw.get("info_cache"))

    def get_multi_columns(self, connection, schema=None, filter_names=None, **kw):
        from plurel_sql.materialize.ddl import sa_type

        return [
            (
                key,
                [
                    {
                        "name": c.name,
                        "type": sa_type(table.name, c, "duckdb"),
                        "nullable": c.nullable,
                        "default": c.default,
                        "autoincrement": False,
                        "comment": None,
                    }
                    for c in table.columns
                ],
            )
            for key, table in self._each(connection, schema, filter_names, kw)
        ]

    def get_multi_pk_constraint(self, connection, schema=None, filter_names=None, **kw):
        return [
            (key, {"constrained_columns": list(table.primary_key), "name": None})
            for key, table in self._each(connection, schema, filter_names, kw)
        ]

    def get_multi_foreign_keys(self, connection, schema=None, filter_names=None, **kw):
        return [
            (
                key,
                [
                    {
                        "name": fk.name,
                        "constrained_columns": list(fk.columns),
                        "referred_schema": None,
                        "referred_table": fk.parent,
                        "referred_columns": list(fk.parent_columns),
                        "options": {},
                    }
                    for fk in table.foreign_keys
                ],
            )
            for key, table in self._each(connection, schema, filter_names, kw)
        ]

    def get_multi_unique_constraints(self, connection, schema=None, filter_names=None, **kw):
        return [
            (key, [{"name": u.name, "column_names": list(u.columns)} for u in table.unique])
            for key, table in self._each(connection, schema, filter_names, kw)
        ]

    def get_multi_indexes(self, connection, schema=None, filter_names=None, **kw):
        return [(key, []) for key, _table in self._each(connection, schema, filter_names, kw)]

    def get_multi_check_constraints(self, connection, schema=None, filter_names=None, **kw):
        return [(key, []) for key, _table in self._each(connection, schema, filter_names, kw)]

    def get_multi_table_comment(self, connection, schema=None, filter_names=None, **kw):
        tables = self._each(connection, schema, filter_names, kw)
        return [(key, {"text": None}) for key, _table in tables]

    def get_multi_table_options(self, connection, schema=None, filter_names=None, **kw):
        return [(key, {}) for key, _table in self._each(connection, schema, filter_names, kw)]


registry.register(f"duckdb.{DRIVER}", __name__, "CatalogDialect")
