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

from plurel_sql.dialects.sampling_base import FRONTIER, EdgeSpec, SamplingDialect


class DuckDBSampling(SamplingDialect):
    name = "duckdb"

    def connect(self, url: str, read_only: bool = True) -> Any:
        from plurel_sql.dialects import connect

        conn = connect(url, read_only=read_only)
        conn.execute("SET threads = 1")  # one core per loader process; workers add parallelism
        return conn

    def prepare_session(self, conn: Any, edges: Sequence[EdgeSpec], offsets: Sequence[int]) -> None:
        super().prepare_session(conn, edges, offsets)
        # ART indexes let the hop's joins look nodes up instead of scanning all links
        self.execute(conn, "CREATE INDEX plurel_up_child ON plurel_up (child)")
        self.execute(conn, "CREATE INDEX plurel_down_parent ON plurel_down (parent)")

    def hop_sql(self, max_width: int) -> str:
        """The base hop with DuckDB's top-N aggregate instead of a ranked window:
        ``arg_min(key, key, n)`` keeps the ``n`` smallest (hash, node) keys per
        frontier node without sorting all candidates (measured ~1.5-2x faster
        here). Same rows as the window form: key = hash * 2**31 + node, exact in
        BIGINT because hash and node are below 2**31."""
        if max_width >= 1_000_000:  # arg_min's n limit: fall back to the window form
            return super().hop_sql(max_width)
        f = FRONTIER
        key = f"({self.hash_sql('f.salt', 'd.child')} * 2147483648 + d.child)"
        return (
            f"SELECT f.seq AS seq, u.parent AS node, 0 AS is_child "
            f"FROM {f} f JOIN plurel_up u ON u.child = f.node WHERE u.pts <= f.asof "
            "UNION ALL "
            "SELECT seq, unnest(kids) % 2147483648 AS node, 1 AS is_child FROM ("
            f"SELECT f.seq AS seq, arg_min({key}, {key}, {int(max_width)}) AS kids "
            f"FROM {f} f JOIN plurel_down d ON d.parent = f.node WHERE d.cts <= f.asof "
            "GROUP BY f.seq, f.node) k"
        )

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
