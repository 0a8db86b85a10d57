"""One module per SQL engine behind one small protocol, chosen by the URL scheme.

Run SQL on a generated database from a URL alone::

    from plurel_sql.dialects import connect, get_dialect

    con = connect("duckdb:///plurel.duckdb", read_only=True)
    #   DuckDB     -> the native ``duckdb.DuckDBPyConnection``
    #                 (``con.execute(sql, params).to_arrow_table()``; qmark ``?`` params)
    #   PostgreSQL -> a ``psycopg.Connection`` (not autocommit) whose ``search_path``
    #                 is the URL's ``?schema=`` (default ``public``); ``%s`` params
    #   SQLite     -> a ``sqlite3.Connection`` with ``PRAGMA foreign_keys=ON``; ``?`` params
    rows = con.execute('SELECT count(*) FROM "plurel_meta"').fetchall()  # duckdb / sqlite
    con.close()

    d = get_dialect("postgresql://u:pw@host/db?schema=s1")
    d.schema            # "s1": qualify tables with it, or rely on search_path
    d.sa_dialect        # SQLAlchemy dialect: compile Core statements for this engine
    sql, to_params = d.compile(select_statement)   # SQL text + param converter
    d.url.sa_url        # a SQLAlchemy URL (``postgresql+psycopg://``): for PostgreSQL
                        # and SQLite ``sqlalchemy.create_engine(d.url.sa_url)`` also works
    d.url.masked        # the URL with the password replaced by *** (for messages)

Errors (bad scheme, unreachable server, wrong credentials, missing file) are
:class:`plurel_sql.errors.DatabaseError` with a one-line message and no password.
"""

from __future__ import annotations

from typing import Any

from plurel_sql.dialects.base import META_TABLE, Dialect, WriteSession
from plurel_sql.dialects.url import SUPPORTED, DatabaseURL, mask_url, parse_url, scrub

__all__ = [
    "META_TABLE",
    "SUPPORTED",
    "DatabaseURL",
    "Dialect",
    "WriteSession",
    "connect",
    "get_dialect",
    "mask_url",
    "parse_url",
    "scrub",
]


def get_dialect(url: str | DatabaseURL, pg_schema: str | None = None) -> Dialect:
    """The :class:`Dialect` for ``url`` (a string or a parsed :class:`DatabaseURL`)."""
    parsed = url if isinstance(url, DatabaseURL) else parse_url(url, pg_schema=pg_schema)
    if parsed.engine == "duckdb":
        from plurel_sql.dialects.duckdb import DuckDBDialect

        return DuckDBDialect(parsed)
    if parsed.engine == "postgresql":
        from plurel_sql.dialects.postgresql import PostgreSQLDialect

        return PostgreSQLDialect(parsed)
    from plurel_sql.dialects.sqlite import SQLiteDialect

    return SQLiteDialect(parsed)


def connect(url: str | DatabaseURL, read_only: bool = False) -> Any:
    """A native DB-API connection to ``url`` (see the module docstring for each engine).

    ``read_only=True`` opens DuckDB read-only (several readers may share the file),
    SQLite with ``mode=ro`` and sets PostgreSQL's ``default_transaction_read_only``.
    A missing DuckDB/SQLite file is an error in read-only mode.
    """
    return get_dialect(url).connect(read_only=read_only)
