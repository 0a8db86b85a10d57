"""SQLite hooks of the context sampler: TEMP-table-bound relations, text timestamps.

SQLite has no array parameters, so a frontier or an id list is written into a
TEMP table (one ``executemany``) before the query that joins against it. The
materializer stores timestamps as ``YYYY-MM-DD HH:MM:SS.ffffff`` text, turned into
seconds with ``strftime('%s', ...)``. SQLite's ``MOD()`` works in floating point,
so the hash uses the integer ``%`` operator; it has no ``STDDEV_POP``, so the
statistics query returns the mean of squares and Python takes the square root.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from plurel_sql.dialects.sampling_base import (
    HASH_A,
    HASH_B,
    HASH_D,
    HASH_P,
    EdgeSpec,
    SamplingDialect,
    quote,
)


class SQLiteSampling(SamplingDialect):
    name = "sqlite"

    def connect(self, url: str, read_only: bool = True) -> Any:
        from plurel_sql.dialects import connect

        return connect(url, read_only=read_only)

    def epoch_seconds(self, expr: str) -> str:
        return f"CAST(strftime('%s', {expr}) AS INTEGER)"

    def hash_sql(self, salt: str, node: str) -> str:
        h1 = f"(({node} * {HASH_A} + {salt} * {HASH_B}) % {HASH_P})"
        h2 = f"(({h1} * {h1} + {node}) % {HASH_P})"
        return f"(({h2} * {HASH_D} + {salt}) % {HASH_P})"

    def commit(self, conn: Any) -> None:
        if conn.in_transaction:
            conn.commit()

    def prepare_session(self, conn: Any, edges: Sequence[EdgeSpec], offsets: Sequence[int]) -> None:
        super().prepare_session(conn, edges, offsets)
        self.execute(conn, "CREATE INDEX temp.plurel_up_child ON plurel_up (child)")
        self.execute(conn, "CREATE INDEX temp.plurel_down_parent ON plurel_down (parent)")

    def run(
        self,
        conn: Any,
        sql: str,
        relations: Mapping[str, Mapping[str, np.ndarray]] | None = None,
        params: Sequence[Any] = (),
    ) -> pa.Table:
        for name, cols in (relations or {}).items():
            names = list(cols)
            conn.execute(f"DROP TABLE IF EXISTS temp.{quote(name)}")
            conn.execute(
                f"CREATE TEMP TABLE {quote(name)} ({', '.join(f'{n} INTEGER' for n in names)})"
            )
            rows = zip(*(np.asarray(cols[n], dtype=np.int64).tolist() for n in names), strict=True)
            ph = ", ".join("?" for _ in names)
            conn.executemany(f"INSERT INTO {quote(name)} VALUES ({ph})", rows)
        cur = conn.execute(sql, list(params))
        names = [d[0] for d in cur.description]
        data = cur.fetchall()
        columns = list(zip(*data, strict=True)) if data else [[] for _ in names]
        return pa.table({n: pa.array(list(c)) for n, c in zip(names, columns, strict=True)})

    float_type = "REAL"

    def spread_sql(self, x: str) -> str:
        return f"AVG({x} * {x})"  # SQLite has no STDDEV_POP: the mean of squares

    def std_from(self, mean: float | None, value: float | None) -> float | None:
        """``s`` of the statistics query is the mean of squares here."""
        if mean is None or value is None:
            return None
        return math.sqrt(max(float(value) - float(mean) ** 2, 0.0))
