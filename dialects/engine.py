"""One database bound to its parsed URL, its dialect and this process's connection.

An :class:`Engine` is what every command works with: the URL is parsed once (by
:func:`create_engine`), the engine's dialect is built once, and readers share one
read-only connection per process (:meth:`Engine.connection`), opened on first use.
Writers open their own connections inside the dialect's atomic write session.

Engines pickle without their connection (DataLoader workers, process pools), and
reader connections are closed right before the process forks (``os.fork``, as
DataLoader workers and process pools do): DuckDB is not fork-safe (a child would
reuse the parent's in-memory database instance without its threads) and a
PostgreSQL socket must not be shared. Each process reopens on first use. Should a
child still find a parent's connection (a fork that bypassed the hooks), it keeps
it referenced but untouched: closing a PostgreSQL connection sends a terminate
message on the socket the parent still uses.
"""

from __future__ import annotations

import contextlib
import os
import weakref
from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa

from plurel_sql.dialects import registry
from plurel_sql.dialects.base import Dialect
from plurel_sql.dialects.loader_sql import EdgeSpec
from plurel_sql.dialects.url import DatabaseURL, parse_url

# Connections a forked child inherited from its parent: referenced, never closed.
_INHERITED: list[Any] = []
# Engines holding a reader connection in this process (closed before a fork).
_OPEN: weakref.WeakSet[Engine] = weakref.WeakSet()


def _close_before_fork() -> None:
    for engine in list(_OPEN):
        engine.close()


os.register_at_fork(before=_close_before_fork)


class Engine:
    """A parsed URL, its :class:`Dialect` and the process's read-only connection."""

    def __init__(self, url: DatabaseURL) -> None:
        self.url = url
        self.dialect: Dialect = registry.dialect_class(url.engine)(url)
        self._con: Any = None
        self._pid = -1
        self._sampling: tuple | None = None  # what the connection's link tables serve

    def __repr__(self) -> str:
        return f"Engine({self.url.masked!r})"

    @property
    def name(self) -> str:
        """The engine name (``duckdb``, ``postgresql``, ``sqlite``)."""
        return self.url.engine

    @property
    def schema(self) -> str | None:
        """The PostgreSQL schema holding the tables (None on other engines)."""
        return self.dialect.schema

    # ---------------------------------------------------------------- connections
    def connect(self, read_only: bool = False) -> Any:
        """A new native connection the caller owns and closes."""
        return self.dialect.connect(read_only=read_only)

    def connection(self) -> Any:
        """This process's shared read-only connection (opened on first use)."""
        if self._con is None or self._pid != os.getpid():
            if self._con is not None:
                _INHERITED.append(self._con)
            self._con, self._pid, self._sampling = None, os.getpid(), None
            self._con = self.dialect.connect(read_only=True)
            _OPEN.add(self)
        return self._con

    def sampling_connection(self, edges: Sequence[EdgeSpec], offsets: Sequence[int]) -> Any:
        """The read-only connection with the loader's TEMP link tables built for this
        layout (once per connection; see ``Dialect.prepare_sampling``)."""
        con = self.connection()
        key = (tuple(edges), tuple(offsets))  # tuples pass through uncopied: a cheap check
        if self._sampling != key:
            self.dialect.prepare_sampling(con, edges, offsets)
            self._sampling = key
        return con

    @contextlib.contextmanager
    def sqlalchemy_connection(self) -> Iterator[Any]:
        """A SQLAlchemy ``Connection`` over this process's read-only connection, for
        what needs SQLAlchemy (reflection, Alembic's comparison): no new connection
        is opened, and closing the SQLAlchemy side leaves the native one open."""
        lent = self.dialect.sa_driver_connection(self.connection())
        sa_engine = sa.create_engine(
            self.dialect.reflection_sa_url(), creator=lambda: lent, poolclass=_LentPool
        )
        try:
            with sa_engine.connect() as connection:
                yield connection
        finally:
            sa_engine.dispose()

    def close(self) -> None:
        """Close this process's connection (an inherited one is left alone)."""
        if self._con is not None and self._pid == os.getpid():
            with contextlib.suppress(Exception):
                self._con.close()
        self._con, self._sampling = None, None
        _OPEN.discard(self)

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.update(_con=None, _pid=-1, _sampling=None)
        return state

    # --------------------------------------------------------------------- errors
    def driver_errors(self) -> contextlib.AbstractContextManager[None]:
        """Driver exceptions inside become one-line DatabaseErrors (password removed)."""
        return self.dialect.driver_errors()


class _LentPool(sa.pool.StaticPool):
    """A pool of one native connection lent by an Engine: SQLAlchemy never closes it
    (the Engine does)."""

    # SQLAlchemy names a pool's logger after its class's module: keep it among
    # SQLAlchemy's loggers, not under plurel_sql (whose INFO lines the CLI prints)
    _sqla_logger_namespace = "sqlalchemy.pool.impl.StaticPool"

    def _close_connection(self, connection: Any, *, terminate: bool = False) -> None:
        pass


def create_engine(url: str | DatabaseURL | Engine, pg_schema: str | None = None) -> Engine:
    """The :class:`Engine` of ``url``: parses a string once; an Engine passes through.

    ``pg_schema`` (the CLI's ``--pg-schema``) overrides ``?schema=`` of a PostgreSQL
    URL. Bad URLs raise a one-line :class:`~plurel_sql.errors.DatabaseError`.
    """
    if pg_schema is None:
        if isinstance(url, Engine):
            return url
        if isinstance(url, DatabaseURL):
            return Engine(url)
    if isinstance(url, Engine):
        url = url.url
    raw = url.raw if isinstance(url, DatabaseURL) else url
    return Engine(parse_url(raw, pg_schema=pg_schema))


@contextlib.contextmanager
def using_engine(url: str | DatabaseURL | Engine) -> Iterator[Engine]:
    """The engine of ``url`` for a ``with`` block, inside which driver errors become
    one-line DatabaseErrors. An engine created here is closed at the end (a DuckDB
    file stays locked while a connection is open); a given one stays open."""
    engine = create_engine(url)
    try:
        with engine.driver_errors():
            yield engine
    finally:
        if engine is not url:
            engine.close()
