"""PostgreSQL hooks of the context sampler: psycopg connections, array-bound relations.

A frontier or an id list travels as one array parameter per column and is
turned into a relation with ``unnest``; the hop then runs as a single
set-based query. ``prepare`` indexes the foreign-key columns (PostgreSQL does
not index them by itself) so child lookups are index scans.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
from plurel_sql.dialects.sampling_base import EdgeSpec, SamplingDialect, quote

from plurel_sql.errors import DatabaseError


def conninfo(url: str) -> str:
    """A libpq connection string from a SQLAlchemy-style PostgreSQL URL."""
    from sqlalchemy.engine import make_url

    try:
        u = make_url(url)
    except Exception as exc:  # noqa: BLE001
        raise DatabaseError(f"invalid database URL {url!r}: {exc}") from None
    return u.set(drivername="postgresql").render_as_string(hide_password=False)


class PostgreSQLSampling(SamplingDialect):
    name = "postgresql"

    def connect(self, url: str, read_only: bool = True) -> Any:
        import psycopg

        try:
            conn = psycopg.connect(conninfo(url), autocommit=read_only)
        except psycopg.Error as exc:
            msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise DatabaseError(f"cannot connect to PostgreSQL: {msg}") from None
        return conn

    def placeholder(self) -> str:
        return "%s"

    def epoch_seconds(self, expr: str) -> str:
        return f"CAST(FLOOR(EXTRACT(EPOCH FROM {expr})) AS BIGINT)"

    def run(
        self,
        conn: Any,
        sql: str,
        relations: Mapping[str, Mapping[str, np.ndarray]] | None = None,
        params: Sequence[Any] = (),
    ) -> pa.Table:
        ctes = []
        bound: list[Any] = []
        for name, cols in (relations or {}).items():
            names = list(cols)
            arrays = ", ".join("%s::bigint[]" for _ in names)
            aliases = ", ".join(names)
            ctes.append(f"{name} AS (SELECT * FROM unnest({arrays}) AS u({aliases}))")
            bound += [np.asarray(cols[n], dtype=np.int64).tolist() for n in names]
        text = sql
        if ctes:
            # relation parameters come first, in the order the CTEs are written
            text = "WITH " + ", ".join(ctes) + " " + sql
        with conn.cursor() as cur:
            cur.execute(text, [*bound, *params])
            names = [d.name for d in cur.description]
            rows = cur.fetchall()
        columns = list(zip(*rows, strict=True)) if rows else [[] for _ in names]
        return pa.table({n: pa.array(list(c)) for n, c in zip(names, columns, strict=True)})

    def prepare(self, conn: Any, edges: Sequence[EdgeSpec]) -> None:
        for e in edges:
            base = re.sub(r"[^a-z0-9_]", "_", f"{e.child}_{e.fk_column}".lower())[:40]
            index = quote(f"plurel_fk_{base}")
            self.execute(
                conn,
                f"CREATE INDEX IF NOT EXISTS {index} ON {quote(e.child)} ({quote(e.fk_column)})",
            )
        self.commit(conn)
