"""DuckDB hooks of the context sampler: native connections and Arrow-bound relations.

A frontier or an id list is registered as a zero-copy Arrow view, so a hop is one
vectorized join inside DuckDB and its result comes back as Arrow.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
from plurel_sql.dialects.sampling_base import SamplingDialect


class DuckDBSampling(SamplingDialect):
    name = "duckdb"

    def connect(self, url: str, read_only: bool = True) -> Any:
        from plurel_sql.dialects import connect

        conn = connect(url, read_only=read_only)
        conn.execute("SET threads = 1")  # one core per loader process; workers add parallelism
        return conn

    def epoch_seconds(self, expr: str) -> str:
        return f"(epoch_us({expr}) // 1000000)"

    def run(
        self,
        conn: Any,
        sql: str,
        relations: Mapping[str, Mapping[str, np.ndarray]] | None = None,
        params: Sequence[Any] = (),
    ) -> pa.Table:
        names = []
        try:
            for name, cols in (relations or {}).items():
                conn.register(name, pa.table({k: pa.array(v) for k, v in cols.items()}))
                names.append(name)
            cur = conn.execute(sql, list(params)) if params else conn.execute(sql)
            with warnings.catch_warnings():  # "extra copy" note: results here are small
                warnings.simplefilter("ignore")
                return cur.to_arrow_table()
        finally:
            for name in names:
                conn.unregister(name)

    def execute(self, conn: Any, sql: str, params: Sequence[Any] = ()) -> None:
        conn.execute(sql, list(params)) if params else conn.execute(sql)
