"""SQLite: everything SQLite-specific.

Writing: ``executemany`` inside one transaction. Keys are declared in ``CREATE
TABLE`` (SQLite cannot add them later); foreign-key enforcement is switched off
while loading and the whole database is checked with ``PRAGMA foreign_key_check``
before the commit. Connections returned by
:meth:`SQLiteDialect.connect` have ``PRAGMA foreign_keys=ON``, so SQLite enforces
the keys for anyone who writes through them. Timestamps are stored as text
``YYYY-MM-DD HH:MM:SS.ffffff`` (SQLAlchemy's own SQLite format; sorts correctly).

Reading: SQLite has no array parameters, so the loader's frontier or id list is
written into a TEMP table (one ``executemany``) before the query that joins
against it; timestamps become seconds with ``strftime('%s', ...)``. SQLite's
``MOD()`` works in floating point, so the hash uses the integer ``%`` operator; it
has no ``STDDEV_POP``, so the statistics query returns the mean of squares and
Python takes the square root.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import decimal
import math
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from sqlalchemy.dialects import sqlite as sa_sqlite

from plurel_sql.dialects.base import Relations
from plurel_sql.dialects.filebased import FileDialect
from plurel_sql.dialects.loader_sql import HASH_A, HASH_B, HASH_D, HASH_P, EdgeSpec, quote
from plurel_sql.errors import DatabaseError
from plurel_sql.uuids import hex_matrix, uuid_bytes

TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"  # Arrow's %S carries the microseconds


class SQLiteDialect(FileDialect):
    name = "sqlite"
    key_timing = "declared"
    driver_modules = ("sqlite3",)

    def _make_sa_dialect(self) -> sa.engine.Dialect:
        return sa_sqlite.pysqlite.dialect()

    def _open(self, path: str, read_only: bool = False) -> Any:
        try:
            if read_only:
                con = sqlite3.connect(
                    Path(path).resolve().as_uri() + "?mode=ro", uri=True, isolation_level=None
                )
            else:
                con = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            con.execute("PRAGMA foreign_keys = ON")
            con.execute("SELECT count(*) FROM sqlite_master").fetchall()
            return con
        except sqlite3.Error as exc:
            raise self.error("cannot open SQLite database", exc) from None

    def _begin(self, con: Any) -> None:
        con.execute("PRAGMA foreign_keys = OFF")  # checked in full before commit
        con.execute("BEGIN")

    def _commit(self, con: Any) -> None:
        orphans = con.execute("PRAGMA foreign_key_check").fetchmany(5)
        if orphans:
            con.execute("ROLLBACK")
            raise DatabaseError(f"foreign key check failed in {self.url.masked}: {orphans}")
        con.execute("COMMIT")
        con.execute("PRAGMA foreign_keys = ON")

    def _rollback(self, con: Any) -> None:
        con.execute("ROLLBACK")

    def list_tables(self, con: Any) -> set[str]:
        rows = con.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        ).fetchall()
        return {r[0] for r in rows}

    def prepare_batch(self, batch: pa.RecordBatch) -> tuple[list[str], list[tuple]]:
        """(column names, row tuples): dates, times, timestamps, decimals and UUIDs
        as text (SQLite has no such types), booleans as 0/1."""
        columns = [sqlite_values(col) for col in batch.columns]
        return batch.schema.names, list(zip(*columns, strict=True))

    def load_batch(self, con: Any, table: sa.Table, batch: Any) -> None:
        names, rows = batch if isinstance(batch, tuple) else self.prepare_batch(batch)
        stmt = sa.insert(table).values({name: sa.bindparam(name) for name in names})
        sql, _ = self.compile(stmt)
        con.executemany(sql, rows)

    def analyze(self, con: Any, tables: list[sa.Table]) -> None:
        con.execute("ANALYZE")

    def decode_value(self, arrow_type: pa.DataType) -> Callable[[Any], Any] | None:
        if pa.types.is_boolean(arrow_type):
            return bool
        if pa.types.is_timestamp(arrow_type):
            return dt.datetime.fromisoformat
        if pa.types.is_date32(arrow_type):
            return dt.date.fromisoformat
        if pa.types.is_time64(arrow_type):
            return dt.time.fromisoformat
        if pa.types.is_decimal(arrow_type):
            step = decimal.Decimal(1).scaleb(-arrow_type.scale)
            return lambda v: decimal.Decimal(repr(v) if isinstance(v, float) else v).quantize(step)
        if pa.types.is_floating(arrow_type):
            return float
        return None

    # ---------------------------------------------------------------- the loader
    def epoch_seconds(self, expr: str) -> str:
        return f"CAST(strftime('%s', {expr}) AS INTEGER)"

    def hash_sql(self, salt: str, node: str) -> str:
        h1 = f"(({node} * {HASH_A} + {salt} * {HASH_B}) % {HASH_P})"
        h2 = f"(({h1} * {h1} + {node}) % {HASH_P})"
        return f"(({h2} * {HASH_D} + {salt}) % {HASH_P})"

    def prepare_sampling(self, con: Any, edges: Sequence[EdgeSpec], offsets: Sequence[int]) -> None:
        super().prepare_sampling(con, edges, offsets)
        con.execute("CREATE INDEX temp.plurel_up_child ON plurel_up (child)")
        con.execute("CREATE INDEX temp.plurel_down_parent ON plurel_down (parent)")

    @contextlib.contextmanager
    def bind_relations(self, con: Any, relations: Relations) -> Iterator[tuple[str, list[Any]]]:
        """Each relation written into a TEMP table of its name (no array parameters)."""
        for name, cols in relations.items():
            names = list(cols)
            con.execute(f"DROP TABLE IF EXISTS temp.{quote(name)}")
            con.execute(
                f"CREATE TEMP TABLE {quote(name)} ({', '.join(f'{n} INTEGER' for n in names)})"
            )
            rows = zip(*(np.asarray(cols[n], dtype=np.int64).tolist() for n in names), strict=True)
            ph = ", ".join("?" for _ in names)
            con.executemany(f"INSERT INTO {quote(name)} VALUES ({ph})", rows)
        yield "", []

    float_type = "REAL"

    def spread_sql(self, x: str) -> str:
        return f"AVG({x} * {x})"  # SQLite has no STDDEV_POP: the mean of squares

    def std_from(self, mean: float | None, value: float | None) -> float | None:
        """``s`` of the statistics query is the mean of squares here."""
        if mean is None or value is None:
            return None
        return math.sqrt(max(float(value) - float(mean) ** 2, 0.0))


def sqlite_values(col: pa.Array) -> list[Any]:
    """Python values SQLite can bind, for one column (see ``prepare_batch``)."""
    t = col.type
    if pa.types.is_timestamp(t):
        suffix = "+00:00" if t.tz else ""
        return pc.strftime(col, format=TIMESTAMP_FORMAT + suffix).to_pylist()
    if isinstance(t, pa.BaseExtensionType) or pa.types.is_date32(t) or pa.types.is_time64(t):
        if isinstance(t, pa.BaseExtensionType):  # arrow.uuid: canonical text
            valid = col.is_valid().to_numpy(zero_copy_only=False)
            text = [bytes(row).decode("ascii") for row in hex_matrix(uuid_bytes(col))]
            return [v if ok else None for v, ok in zip(text, valid, strict=True)]
        return col.cast(pa.string()).to_pylist()
    if pa.types.is_decimal(t):
        return col.cast(pa.string()).to_pylist()
    return col.to_pylist()
