"""PostgreSQL hooks of the context sampler: psycopg connections, array-bound relations.

A frontier or an id list travels as one array parameter per column and is
turned into a relation with ``unnest``; the hop then runs as a single
set-based query. Each sampling session indexes its TEMP link tables.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from plurel_sql.dialects.sampling_base import EdgeSpec, SamplingDialect


class PostgreSQLSampling(SamplingDialect):
    name = "postgresql"

    def connect(self, url: str, read_only: bool = True) -> Any:
        from plurel_sql.dialects import connect

        return connect(url, read_only=read_only)

    def sampler_connect(self, url: str) -> Any:
        # read-write session (TEMP tables are writes), autocommit: no idle transactions
        conn = self.connect(url, read_only=False)
        conn.autocommit = True
        return conn

    def prepare_session(self, conn: Any, edges: Sequence[EdgeSpec], offsets: Sequence[int]) -> None:
        super().prepare_session(conn, edges, offsets)
        self.execute(conn, "CREATE INDEX ON plurel_up (child)")
        self.execute(conn, "CREATE INDEX ON plurel_down (parent)")
        self.execute(conn, "ANALYZE plurel_up")
        self.execute(conn, "ANALYZE plurel_down")

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
