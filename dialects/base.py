"""The small protocol every engine module implements, plus the shared helpers.

A :class:`Dialect` knows how to connect to one URL, run SQLAlchemy Core statements
natively (DDL and queries are compiled by SQLAlchemy, so identifiers are quoted by it
and values always travel as bound parameters), bulk-load one Arrow batch, finalize a
load (constraints, ANALYZE) and scan a table back as Arrow batches in primary-key
order (used by checksums and ``verify``).

Atomicity lives in :meth:`Dialect.write_session`: a context manager yielding a
:class:`WriteSession` whose work lands whole when the block exits normally and
leaves nothing behind otherwise (see docs/materialize.md).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import sqlalchemy as sa

from plurel_sql.dialects.url import DatabaseURL
from plurel_sql.errors import DatabaseError
from plurel_sql.uuids import uuid_array, uuid_bytes

META_TABLE = "plurel_meta"
#: Tables named ``plurel_*`` belong to a generation (its metadata and readers' caches,
#: e.g. the loader's ``plurel_stats``); ``--replace`` drops them with it.
RESERVED_PREFIX = "plurel_"


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


class Dialect:
    """Base class; subclasses set ``name`` and implement the engine-specific parts."""

    name: str = ""
    #: When keys are created (the fastest correct option per engine, see docs):
    #: "declared" - PRIMARY and FOREIGN KEYs in CREATE TABLE;
    #: "table"    - FOREIGN KEYs in CREATE TABLE, PRIMARY KEY added once the table is
    #:              loaded (before any child table is created);
    #: "end"      - both added with ALTER TABLE after all tables are loaded.
    key_timing: str = "declared"

    def __init__(self, url: DatabaseURL) -> None:
        self.url = url
        self.sa_dialect = self._make_sa_dialect()

    # ----------------------------------------------------------------- connection
    def _make_sa_dialect(self) -> sa.engine.Dialect:
        raise NotImplementedError

    def connect(self, read_only: bool = False) -> Any:
        """A native DB-API connection (see :func:`plurel_sql.dialects.connect`)."""
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

    def execute(self, con: Any, stmt: Any, params: dict[str, Any] | None = None) -> Any:
        """Execute a SQLAlchemy statement (or plain SQL text without values)."""
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

    # --------------------------------------------------------------------- errors
    def conflict_error(self, where: str, clash: set[str]) -> DatabaseError:
        names = sorted(clash)
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        return DatabaseError(f"{where} already holds table(s) {shown}; pass --replace to overwrite")

    def error(self, what: str, exc: BaseException) -> DatabaseError:
        """A one-line DatabaseError for a driver exception, password removed."""
        detail = " ".join(str(exc).split()) or type(exc).__name__
        return DatabaseError(self.url.scrub(f"{what} ({self.url.masked}): {detail}"))


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
