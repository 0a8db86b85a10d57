"""DuckDB hooks of the context sampler: native connections and Arrow-bound relations.

A frontier or an id list is registered as a zero-copy Arrow view, so a hop is one
vectorized join inside DuckDB and its result comes back as Arrow.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
from plurel_sql.dialects.sampling_base import SamplingDialect

from plurel_sql.errors import DatabaseError


def duckdb_path(url: str) -> str:
    """The file path of a ``duckdb:///PATH`` URL (``:memory:`` allowed)."""
    from sqlalchemy.engine import make_url

    try:
        path = make_url(url).database
    except Exception as exc:  # noqa: BLE001 - any parse failure is a bad URL
        raise DatabaseError(f"invalid database URL {url!r}: {exc}") from None
    return path or ":memory:"


class DuckDBSampling(SamplingDialect):
    name = "duckdb"

    def connect(self, url: str, read_only: bool = True) -> Any:
        import duckdb

        path = duckdb_path(url)
        try:
            if path == ":memory:":
                return duckdb.connect(path)
            conn = duckdb.connect(path, read_only=read_only)
        except duckdb.Error as exc:
            msg = str(exc).splitlines()[0]
            raise DatabaseError(f"cannot open DuckDB database {path!r}: {msg}") from None
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
            rel = conn.sql(sql, params=list(params) if params else None)
            return rel.to_arrow_table()
        finally:
            for name in names:
                conn.unregister(name)

    def execute(self, conn: Any, sql: str, params: Sequence[Any] = ()) -> None:
        conn.execute(sql, list(params)) if params else conn.execute(sql)
