"""PostgreSQL through psycopg 3: everything PostgreSQL-specific.

Writing: one transaction per generation, COPY for the load. DDL is transactional in
PostgreSQL, so the whole generation (schema creation, drops for ``--replace``,
tables, rows, keys, ANALYZE, ``plurel_meta``) is one transaction: a killed client
leaves nothing (the server rolls back when the connection drops). Rows arrive with
binary COPY built by numpy (:mod:`plurel_sql.dialects.pgcopy`); PRIMARY and FOREIGN
KEYs are added after the load (``key_timing = "end"``), which measured several times
faster than declaring them first (docs/benchmarks.md).

Reading: read-only connections are in autocommit mode (no idle transactions) with
``default_transaction_read_only`` on, so nothing a reader runs can change the
database. The loader's frontier or id list travels as one array parameter per
column, turned into a relation with ``unnest``; its session link tables are TEMP
tables, created in one explicitly ``READ WRITE`` transaction that touches only the
connection's own temporary schema (``pg_temp``; needs only the TEMPORARY privilege).
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as sa_pg

from plurel_sql.dialects.base import META_TABLE, Dialect, Relations, WriteSession
from plurel_sql.dialects.loader_sql import EdgeSpec
from plurel_sql.dialects.pgcopy import encode_batch
from plurel_sql.dialects.url import mask_url
from plurel_sql.errors import DatabaseError

CONNECT_TIMEOUT_S = 5


class PostgreSQLDialect(Dialect):
    name = "postgresql"
    key_timing = "end"
    driver_modules = ("psycopg",)
    max_identifier_length = 63
    placeholder = "%s"
    temp_schema = "pg_temp"
    #: "binary" (numpy-built buffer) or "csv" (pyarrow CSV writer); binary measured faster.
    copy_format = "binary"

    @classmethod
    def url_parts(
        cls, sa_url: sa.URL, raw: str, pg_schema: str | None
    ) -> tuple[sa.URL, str | None, str | None]:
        query = dict(sa_url.query)
        raw_schema = query.pop("schema", None)
        if isinstance(raw_schema, tuple):
            raw_schema = raw_schema[-1]
        sa_url = sa_url.set(drivername="postgresql+psycopg", query=query)
        if not sa_url.database:
            raise DatabaseError(f"PostgreSQL URL needs a database name: {mask_url(raw)}")
        return sa_url, pg_schema or raw_schema or "public", None

    def _make_sa_dialect(self) -> sa.engine.Dialect:
        return sa_pg.psycopg.dialect()

    @property
    def schema(self) -> str | None:
        return self.url.schema

    def connect(self, read_only: bool = False) -> Any:
        try:
            import psycopg
        except ImportError:
            raise DatabaseError(
                "PostgreSQL needs psycopg 3: pip install 'plurel-sql[postgres]'"
            ) from None
        u = self.url.sa_url
        params: dict[str, Any] = {
            "host": u.host or None,
            "port": u.port or None,
            "user": u.username or None,
            "password": u.password or None,
            "dbname": u.database,
            "connect_timeout": CONNECT_TIMEOUT_S,
        }
        for key, value in u.query.items():
            params[key] = value[-1] if isinstance(value, tuple) else value
        params = {k: v for k, v in params.items() if v is not None}
        try:
            con = psycopg.connect(**params)
            con.autocommit = read_only
            with con.cursor() as cur:
                cur.execute(f"SET search_path TO {self.quote(self.schema or 'public')}")
                if read_only:
                    cur.execute("SET default_transaction_read_only = on")
            if not read_only:
                con.commit()
            return con
        except psycopg.Error as exc:
            raise self.error("cannot connect to PostgreSQL", exc) from None

    def list_tables(self, con: Any) -> set[str]:
        rows = self.fetchall(
            con,
            sa.text(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = :schema AND table_type = 'BASE TABLE'"
            ),
            {"schema": self.schema},
        )
        return {r[0] for r in rows}

    @contextlib.contextmanager
    def write_session(
        self, conflicts: Callable[[set[str]], set[str]], replace: bool
    ) -> Iterator[WriteSession]:
        con = self.connect()
        try:
            existing = self.list_tables(con)
            clash = conflicts(existing)
            if clash and not replace:
                raise self.conflict_error(f"schema '{self.schema}' of {self.url.masked}", clash)
            previous = self.read_meta_rows(con) if META_TABLE in existing else {}
            try:
                yield WriteSession(con, existing, previous)
            except BaseException:
                with contextlib.suppress(Exception):
                    con.rollback()
                raise
            con.commit()
        finally:
            with contextlib.suppress(Exception):
                con.close()

    def create_schema(self, con: Any) -> None:
        if self.schema and self.schema != "public":
            self.execute(con, sa.schema.CreateSchema(self.schema, if_not_exists=True))

    def prepare_batch(self, batch: pa.RecordBatch) -> tuple[list[str], bytes]:
        """(column names, COPY payload) in the configured ``copy_format``."""
        if self.copy_format == "binary":
            return batch.schema.names, encode_batch(batch)
        sink = io.BytesIO()
        options = pacsv.WriteOptions(include_header=False, quoting_style="needed")
        pacsv.write_csv(batch, sink, write_options=options)
        return batch.schema.names, sink.getvalue()

    def load_batch(self, con: Any, table: sa.Table, batch: Any) -> None:
        names, payload = batch if isinstance(batch, tuple) else self.prepare_batch(batch)
        columns = ", ".join(self.quote(c) for c in names)
        fmt = "BINARY" if self.copy_format == "binary" else "CSV"
        with (
            con.cursor() as cur,
            cur.copy(f"COPY {self.quote_table(table)} ({columns}) FROM STDIN (FORMAT {fmt})") as cp,
        ):
            cp.write(payload)

    def analyze(self, con: Any, tables: list[sa.Table]) -> None:
        for table in tables:
            self.execute(con, f"ANALYZE {self.quote_table(table)}")

    def drop_table(self, con: Any, table: str) -> None:
        t = sa.Table(table, sa.MetaData(), schema=self.schema)
        self.execute(con, f"DROP TABLE {self.quote_table(t)} CASCADE")

    def scan(
        self, con: Any, table: sa.Table, arrow_schema: pa.Schema, chunk_rows: int = 65536
    ) -> Iterator[pa.RecordBatch]:
        """Through a server-side cursor, which lives in a transaction (a read-only
        connection is in autocommit mode: the scan opens its own)."""
        outer = con.transaction() if con.autocommit else contextlib.nullcontext()
        with outer:
            yield from super().scan(con, table, arrow_schema, chunk_rows)

    def _scan_cursor(self, con: Any, stmt: Any) -> Any:
        sql, _ = self.compile(stmt)
        cur = con.cursor(name="plurel_scan")
        cur.execute(sql)
        return cur

    # ---------------------------------------------------------------- the loader
    def prepare_sampling(self, con: Any, edges: Sequence[EdgeSpec], offsets: Sequence[int]) -> None:
        with con.transaction():
            con.execute("SET TRANSACTION READ WRITE")  # TEMP tables only (pg_temp)
            super().prepare_sampling(con, edges, offsets)
            con.execute("CREATE INDEX ON pg_temp.plurel_up (child)")
            con.execute("CREATE INDEX ON pg_temp.plurel_down (parent)")
            con.execute("ANALYZE pg_temp.plurel_up")
            con.execute("ANALYZE pg_temp.plurel_down")

    def epoch_seconds(self, expr: str) -> str:
        return f"CAST(FLOOR(EXTRACT(EPOCH FROM {expr})) AS BIGINT)"

    @contextlib.contextmanager
    def bind_relations(self, con: Any, relations: Relations) -> Iterator[tuple[str, list[Any]]]:
        """One array parameter per column, a CTE per relation (``unnest``)."""
        ctes = []
        bound: list[Any] = []
        for name, cols in relations.items():
            names = list(cols)
            arrays = ", ".join("%s::bigint[]" for _ in names)
            ctes.append(f"{name} AS (SELECT * FROM unnest({arrays}) AS u({', '.join(names)}))")
            bound += [np.asarray(cols[n], dtype=np.int64).tolist() for n in names]
        yield ("WITH " + ", ".join(ctes) + " " if ctes else ""), bound
