"""One module per SQL engine, found by URL scheme, behind one bound object.

``create_engine(url)`` parses a URL once and returns an :class:`Engine`: the URL,
its engine's :class:`Dialect` (everything engine-specific: DDL quirks, bulk load,
finalize, scans, the loader's SQL) and the process's read-only connection. The
scheme selects the engine module through :mod:`plurel_sql.dialects.registry`
(``duckdb``, ``postgresql``/``postgres``/``postgresql+psycopg``, ``sqlite``), as
SQLAlchemy resolves its dialects.

Run SQL on a generated database from a URL alone::

    from plurel_sql.dialects import connect, create_engine

    con = connect("duckdb:///plurel.duckdb", read_only=True)
    #   DuckDB     -> the native ``duckdb.DuckDBPyConnection``
    #                 (``con.execute(sql, params).to_arrow_table()``; qmark ``?`` params)
    #   PostgreSQL -> a ``psycopg.Connection`` whose ``search_path`` is the URL's
    #                 ``?schema=`` (default ``public``); ``%s`` params. Read-only
    #                 connections are in autocommit mode, writable ones are not.
    #   SQLite     -> a ``sqlite3.Connection`` with ``PRAGMA foreign_keys=ON``; ``?`` params
    rows = con.execute('SELECT count(*) FROM "plurel_meta"').fetchall()  # duckdb / sqlite
    con.close()

    engine = create_engine("postgresql://u:pw@host/db?schema=s1")
    engine.schema                 # "s1": qualify tables with it, or rely on search_path
    engine.connection()           # the shared read-only connection of this process
    d = engine.dialect
    d.sa_dialect                  # SQLAlchemy dialect: compile Core statements for this engine
    sql, to_params = d.compile(select_statement)   # SQL text + param converter
    engine.url.sa_url             # a SQLAlchemy URL (``postgresql+psycopg://``): for PostgreSQL
                                  # and SQLite ``sqlalchemy.create_engine(...)`` also works
    engine.url.masked             # the URL with the password replaced by *** (for messages)

Errors (bad scheme, unreachable server, wrong credentials, missing file) are
:class:`plurel_sql.errors.DatabaseError` with a one-line message and no password.
"""

from __future__ import annotations

from typing import Any

from plurel_sql.dialects.base import META_TABLE, Dialect, WriteSession
from plurel_sql.dialects.engine import Engine, create_engine, using_engine
from plurel_sql.dialects.url import DatabaseURL, mask_url, parse_url, scrub

__all__ = [
    "META_TABLE",
    "DatabaseURL",
    "Dialect",
    "Engine",
    "WriteSession",
    "connect",
    "create_engine",
    "mask_url",
    "parse_url",
    "scrub",
    "using_engine",
]


def connect(url: str | DatabaseURL | Engine, read_only: bool = False) -> Any:
    """A new native DB-API connection to ``url`` (see the module docstring).

    ``read_only=True`` opens DuckDB read-only (several readers may share the file),
    SQLite with ``mode=ro`` and sets PostgreSQL's ``default_transaction_read_only``.
    A missing DuckDB/SQLite file is an error in read-only mode.
    """
    return create_engine(url).connect(read_only=read_only)
