"""The small shared base of the engine modules: one :class:`Dialect` per engine.

A dialect holds everything engine-specific for one parsed URL: the URL's rules
(:meth:`Dialect.url_parts`), how to connect (read-only or not), how to run
SQLAlchemy Core statements natively (DDL and queries are compiled by SQLAlchemy, so
identifiers are quoted by it and values always travel as bound parameters), the
write path (atomic session, bulk load of one Arrow batch, finalize: keys, ANALYZE),
scans back as Arrow batches in primary-key order (checksums, ``verify``) and the
loader's SQL (inherited from :class:`~plurel_sql.dialects.loader_sql.LoaderSQL`,
with ``run`` binding in-memory relations). Engine modules override the hooks; the
registry (:mod:`plurel_sql.dialects.registry`) finds them by URL scheme.

Atomicity lives in :meth:`Dialect.write_session`: a context manager yielding a
:class:`WriteSession` whose work lands whole when the block exits normally and
leaves nothing behind otherwise (see docs/materialize.md).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import sqlalchemy as sa

from plurel_sql.dialects.loader_sql import EdgeSpec, LoaderSQL
from plurel_sql.dialects.url import DatabaseURL
from plurel_sql.errors import DatabaseError, PlurelError
from plurel_sql.uuids import uuid_array, uuid_bytes

META_TABLE = "plurel_meta"
#: Tables named ``plurel_*`` belong to a generation (its metadata, and caches earlier
#: versions kept such as ``plurel_stats``); ``--replace`` drops them with it.
RESERVED_PREFIX = "plurel_"
#: in-memory relations the loader binds into a query: name -> int64 columns
Relations = Mapping[str, Mapping[str, np.ndarray]]


def meta_table(schema: str | None = None) -> sa.Table:
    """The ``plurel_meta`` key/value table as SQLAlchemy metadata."""
    return sa.Table(
        META_TABLE,
        sa.MetaData(),
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        schema=schema,
    )


@dataclass
class WriteSession:
    """An open connection inside an atomic write, plus what was already there.

    ``existing`` holds the table names present in the target before the write
    (empty when writing into a fresh temporary file); ``previous_meta`` the raw
    ``plurel_meta`` rows found there (empty dict if none). ``private`` is True when
    the target is a temporary file nobody else can see: atomicity then comes from
    the final rename, so intermediate commits are allowed.
    """

    con: Any
    existing: set[str] = field(default_factory=set)
    previous_meta: dict[str, str] = field(default_factory=dict)
    private: bool = False


class Dialect(LoaderSQL):
    """Base class; subclasses set ``name`` and implement the engine-specific parts."""

    name: str = ""
    #: top-level modules of the engine's driver: their exceptions are database errors
    driver_modules: tuple[str, ...] = ()
    #: longest identifier the engine keeps (None: no limit that matters here)
    max_identifier_length: int | None = None
    #: When keys are created (the fastest correct option per engine, see docs):
    #: "declared" - PRIMARY and FOREIGN KEYs in CREATE TABLE;
    #: "table"    - FOREIGN KEYs in CREATE TABLE, PRIMARY KEY added once the table is
    #:              loaded (before any child table is created);
    #: "end"      - both added with ALTER TABLE after all tables are loaded.
    key_timing: str = "declared"

    def __init__(self, url: DatabaseURL) -> None:
        self.url = url
        self.sa_dialect = self._make_sa_dialect()

    def __getstate__(self) -> dict[str, Any]:  # SQLAlchemy dialects do not pickle
        return {k: v for k, v in self.__dict__.items() if k != "sa_dialect"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.sa_dialect = self._make_sa_dialect()

    @classmethod
    def url_parts(
        cls, sa_url: sa.URL, raw: str, pg_schema: str | None
    ) -> tuple[sa.URL, str | None, str | None]:
        """Check a URL of this engine: (normalized SQLAlchemy URL, schema, file path);
        one-line :class:`DatabaseError` when it lacks what the engine needs."""
        raise NotImplementedError

    # ----------------------------------------------------------------- connection
    def _make_sa_dialect(self) -> sa.engine.Dialect:
        raise NotImplementedError

    def reflection_sa_url(self) -> sa.URL:
        """The SQLAlchemy URL whose dialect reflects this engine's catalog (what
        Alembic's comparison and ``MetaData.reflect`` use)."""
        return self.url.sa_url

    def sa_driver_connection(self, native: Any) -> Any:
        """``native`` as the DB-API connection SQLAlchemy's dialect expects."""
        return native

    def connect(self, read_only: bool = False) -> Any:
        """A new native DB-API connection (see :func:`plurel_sql.dialects.connect`).

        ``read_only=True`` never creates or changes anything in the database and is
        what every reader uses (see each engine for how it is enforced)."""
        raise NotImplementedError

    @property
    def schema(self) -> str | None:
        """Schema that holds the tables (PostgreSQL only; None means the default)."""
        return None

    # ------------------------------------------------------------------ execution
    def compile(self, stmt: Any) -> tuple[str, Callable[[dict[str, Any] | None], Any]]:
        """SQL text of a SQLAlchemy statement and a function mapping named parameters
        (merged over the values bound in the statement) to the driver's form."""
        compiled = stmt.compile(dialect=self.sa_dialect)
        sql = str(compiled)
        if isinstance(compiled, sa.sql.compiler.DDLCompiler):
            return sql, lambda params=None: dict(params or {})
        # bind names with spaces or punctuation (from users' column names) are escaped
        # in named SQL text (%(Parent_ID)s); the positional order keeps the originals
        positional = bool(getattr(compiled, "positional", False))
        escaped = {} if positional else dict(compiled.escaped_bind_names or {})
        bound = compiled.construct_params(escape_names=not positional, _check=False)

        def merged(params: dict[str, Any] | None) -> dict[str, Any]:
            return {**bound, **{escaped.get(k, k): v for k, v in (params or {}).items()}}

        if positional:
            order = list(compiled.positiontup or [])
            return sql, lambda params=None: [merged(params)[k] for k in order]
        return sql, merged

    def execute(
        self, con: Any, stmt: Any, params: Mapping[str, Any] | Sequence[Any] | None = None
    ) -> Any:
        """Execute a SQLAlchemy statement (named ``params`` merged over its bound
        values) or plain SQL text (``params`` in the driver's form)."""
        if isinstance(stmt, str):
            sql, args = stmt, params
        else:
            sql, convert = self.compile(stmt)
            args = convert(params)
        cur = con.cursor()
        if args:
            cur.execute(sql, args)
        else:
            cur.execute(sql)
        return cur

    def executemany(self, con: Any, stmt: Any, rows: Sequence[dict[str, Any]]) -> None:
        sql, convert = self.compile(stmt)
        con.cursor().executemany(sql, [convert(r) for r in rows])

    def fetchall(self, con: Any, stmt: Any, params: dict[str, Any] | None = None) -> list:
        return list(self.execute(con, stmt, params).fetchall())

    def read_meta_rows(self, con: Any) -> dict[str, str]:
        """The raw ``plurel_meta`` rows (the caller checks the table exists)."""
        table = meta_table(self.schema)
        return dict(self.fetchall(con, sa.select(table.c.key, table.c.value)))

    def quote_table(self, table: sa.Table) -> str:
        return self.sa_dialect.identifier_preparer.format_table(table)

    def quote(self, name: str) -> str:
        """Always quoted: SQLAlchemy's per-dialect reserved words miss some of the
        engines' (e.g. DuckDB's ``at``)."""
        return self.sa_dialect.identifier_preparer.quote_identifier(name)

    # ------------------------------------------------------------------- catalog
    def list_tables(self, con: Any) -> set[str]:
        """Names of base tables in the target schema."""
        raise NotImplementedError

    # --------------------------------------------------------------------- writes
    @contextlib.contextmanager
    def write_session(self, conflicts: Callable[[set[str]], set[str]], replace: bool):
        """Atomic write (see module docstring). ``conflicts(existing)`` returns the
        existing tables the new database would collide with; any conflict without
        ``replace`` is a one-line DatabaseError raised before anything is written."""
        raise NotImplementedError
        yield  # pragma: no cover

    def intermediate_commit(self, con: Any) -> None:
        """Commit and open a new transaction (only in a ``private`` session)."""
        raise NotImplementedError

    def create_schema(self, con: Any) -> None:
        """Create the target schema if the engine has schemas (PostgreSQL)."""

    def prepare_batch(self, batch: pa.RecordBatch) -> Any:
        """Engine-ready form of a batch, built without the connection (the writer calls
        it on the main thread while the previous batch is still loading)."""
        return batch

    def load_batch(self, con: Any, table: sa.Table, batch: Any) -> None:
        """Load one prepared batch (see :meth:`prepare_batch`) into ``table``."""
        raise NotImplementedError

    def analyze(self, con: Any, tables: Sequence[sa.Table]) -> None:
        """Refresh planner statistics after the load."""

    def drop_table(self, con: Any, table: str) -> None:
        self.execute(con, sa.schema.DropTable(sa.Table(table, sa.MetaData(), schema=self.schema)))

    # ---------------------------------------------------------------------- reads
    def scan(
        self, con: Any, table: sa.Table, arrow_schema: pa.Schema, chunk_rows: int = 65536
    ) -> Iterator[pa.RecordBatch]:
        """The table's rows ordered by primary key as Arrow batches of ``arrow_schema``."""
        stmt = sa.select(*[table.c[f.name] for f in arrow_schema]).order_by(
            *[c for c in table.primary_key.columns] or [table.c[arrow_schema[0].name]]
        )
        cur = self._scan_cursor(con, stmt)
        while True:
            rows = cur.fetchmany(chunk_rows)
            if not rows:
                break
            yield rows_to_batch(rows, arrow_schema, self.decode_value)
        cur.close()

    def _scan_cursor(self, con: Any, stmt: Any) -> Any:
        return self.execute(con, stmt)

    def decode_value(self, arrow_type: pa.DataType) -> Callable[[Any], Any] | None:
        """Per-type conversion of fetched Python values before building Arrow arrays."""
        return None

    # ---------------------------------------------------------------- the loader
    def prepare_sampling(self, con: Any, edges: Sequence[EdgeSpec], offsets: Sequence[int]) -> None:
        """Build the session's TEMP link tables (see :meth:`LoaderSQL.adjacency_sql`)
        on a read-only connection; engines add their indexes."""
        for sql in self.adjacency_sql(edges, offsets):
            self.execute(con, sql)

    def run(
        self, con: Any, sql: str, relations: Relations | None = None, params: Sequence[Any] = ()
    ) -> pa.Table:
        """Run loader SQL with each of ``relations`` (name -> int64 columns) bound as a
        relation of that name, and return the result as an Arrow table."""
        with self.bind_relations(con, relations or {}) as (prefix, bound):
            return self.query_arrow(con, prefix + sql, [*bound, *params])

    @contextlib.contextmanager
    def bind_relations(self, con: Any, relations: Relations) -> Iterator[tuple[str, list[Any]]]:
        """Make each relation joinable by its name for one query: yields the SQL text
        to put before the query and the parameters that text binds (engine hook)."""
        raise NotImplementedError
        yield  # pragma: no cover

    def query_arrow(self, con: Any, sql: str, params: list[Any]) -> pa.Table:
        """The rows of ``sql`` as an Arrow table (through a DB-API cursor here)."""
        cur = con.cursor()
        try:
            cur.execute(sql, params)
            return cursor_to_arrow(cur)
        finally:
            cur.close()

    # --------------------------------------------------------------------- errors
    def conflict_error(self, where: str, clash: set[str]) -> DatabaseError:
        names = sorted(clash)
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        return DatabaseError(f"{where} already holds table(s) {shown}; pass --replace to overwrite")

    def error(self, what: str, exc: BaseException) -> DatabaseError:
        """A one-line DatabaseError for a driver exception, password removed."""
        detail = " ".join(str(exc).split()) or type(exc).__name__
        return DatabaseError(self.url.scrub(f"{what} ({self.url.masked}): {detail}"))

    @contextlib.contextmanager
    def driver_errors(self) -> Iterator[None]:
        """Inside, an exception of this engine's driver becomes a one-line
        :class:`DatabaseError` (password removed); library errors and anything else
        (a bug) pass through."""
        try:
            yield
        except PlurelError:
            raise
        except Exception as exc:
            # SQLAlchemy wraps the driver's exceptions (reflection, Alembic) in DBAPIError
            wrapped = isinstance(exc, sa.exc.DBAPIError)
            if not wrapped and type(exc).__module__.split(".")[0] not in self.driver_modules:
                raise
            raise self.error("database error", exc) from None


def cursor_to_arrow(cur: Any) -> pa.Table:
    """All rows of a DB-API cursor as an Arrow table (column types inferred)."""
    names = [d[0] for d in cur.description]
    rows = cur.fetchall()
    columns = list(zip(*rows, strict=True)) if rows else [[] for _ in names]
    return pa.table({n: pa.array(list(c)) for n, c in zip(names, columns, strict=True)})


def rows_to_batch(
    rows: Sequence[Sequence[Any]],
    arrow_schema: pa.Schema,
    decode: Callable[[pa.DataType], Callable[[Any], Any] | None],
) -> pa.RecordBatch:
    """Build an Arrow batch from fetched row tuples (column-wise conversion)."""
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in arrow_schema]
    arrays = []
    for values, f in zip(columns, arrow_schema, strict=True):
        fn = decode(f.type)
        if fn is not None:
            values = [None if v is None else fn(v) for v in values]
        if isinstance(f.type, pa.BaseExtensionType):  # arrow.uuid, fetched as text or UUID
            text = pa.array([None if v is None else str(v) for v in values], pa.string())
            arrays.append(uuid_array(uuid_bytes(text), text.is_valid().to_numpy(False)))
            continue
        arrays.append(pa.array(values, type=f.type))
    return pa.RecordBatch.from_arrays(arrays, schema=arrow_schema)
