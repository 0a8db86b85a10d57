"""Build batches of contexts from seed rows spread over one or many databases.

:class:`DbSampler` samples contexts of one database, either through SQL
(``engine="sql"``, the product path) or from tables held in memory
(``engine="memory"``, the per-sequence reference; ``engine="numpy"``, the same
walk vectorized over a whole group of sequences). :class:`BatchSampler` groups a batch's
seed rows by database and fills one set of batch arrays. Connections are opened
lazily and per process, so samplers can be pickled into DataLoader workers.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from plurel_sql.dialects.sampling_base import ROW_IDS
from plurel_sql.errors import PlurelError
from plurel_sql.loader.assemble import assemble, empty_batch
from plurel_sql.loader.content import RowContent, fetch_sql, to_content
from plurel_sql.loader.layout import DbLayout, build_layout
from plurel_sql.loader.memory import InMemoryTables, load_tables, memory_walk
from plurel_sql.loader.meta import Database
from plurel_sql.loader.vectorized import VectorIndex, build_index, vectorized_walk
from plurel_sql.loader.walk import SeedBatch, WalkResult, sql_walk

Engine = Literal["sql", "memory", "numpy"]
IN_MEMORY = ("memory", "numpy")  # engines that read every table whole

# Connections inherited from the parent by a forked DataLoader worker. They are
# kept referenced, never closed or garbage-collected in the child: closing a
# PostgreSQL connection sends a terminate message on the socket the parent still
# uses. Workers leave through os._exit, which runs no finalizers.
_INHERITED: list[Any] = []


def check_sizes(ctx_len: int, max_width: int, batch_size: int = 1) -> None:
    """One-line errors for context sizes that cannot work."""
    for name, value, low in (
        ("ctx_len", ctx_len, 2),
        ("max_width", max_width, 1),
        ("batch_size", batch_size, 1),
    ):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
            raise PlurelError(f"{name} must be an integer >= {low}, got {value!r}")


class DbSampler:
    """Contexts of one database."""

    def __init__(self, db: Database, ctx_len: int, max_width: int, engine: Engine = "sql") -> None:
        check_sizes(ctx_len, max_width)
        if engine not in ("sql", *IN_MEMORY):
            raise PlurelError(f"unknown engine {engine!r}: expected 'sql', 'memory' or 'numpy'")
        self.db = db
        self.dialect = db.dialect
        self.layout: DbLayout = build_layout(db.schema, db.stats)
        self.ctx_len = ctx_len
        self.max_width = max_width
        self.engine = engine
        self._conn: Any = None
        self._pid = -1
        self._mem: InMemoryTables | None = None
        self._vec: VectorIndex | None = None  # engine="numpy": link arrays by node id

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_conn"], state["_pid"], state["_mem"] = None, -1, None
        state["_vec"] = None
        return state

    @property
    def conn(self) -> Any:
        if self._conn is None or self._pid != os.getpid():
            if self._conn is not None:
                _INHERITED.append(self._conn)
            d = self.dialect
            conn = d.sampler_connect(self.db.url)
            if self.engine == "sql":
                offsets = [t.node_offset for t in self.layout.tables]
                d.prepare_session(conn, self.layout.edges, offsets)
            self._conn, self._pid = conn, os.getpid()
        return self._conn

    def close(self) -> None:
        if self._conn is not None and self._pid == os.getpid():
            self._conn.close()
        self._conn = None

    @property
    def memory(self) -> InMemoryTables:
        if self._mem is None:
            self._mem = load_tables(self.dialect, self.conn, self.layout)
        return self._mem

    @property
    def vector(self) -> VectorIndex:
        """engine="numpy": CSR link arrays, built once from the tables read whole."""
        if self._vec is None:
            self._vec = build_index(self.memory, self.layout)
        return self._vec

    def walk(self, seeds: SeedBatch) -> WalkResult:
        if self.engine == "numpy":
            return vectorized_walk(self.vector, self.layout, seeds, self.ctx_len, self.max_width)
        if self.engine == "memory":
            return memory_walk(self.memory, self.layout, seeds, self.ctx_len, self.max_width)
        return sql_walk(self.dialect, self.conn, self.layout, seeds, self.ctx_len, self.max_width)

    def contents(self, walk: WalkResult) -> dict[int, RowContent]:
        """Cells of every selected row, one fetch query per table."""
        out: dict[int, RowContent] = {}
        offsets = np.array([t.node_offset for t in self.layout.tables], np.int64)
        nodes = np.sort(offsets[walk.tab] + walk.row)  # sorted: grouped by table
        nodes = nodes[np.concatenate([[True], nodes[1:] != nodes[:-1]])]
        bounds = np.searchsorted(nodes, np.append(offsets, self.layout.num_nodes))
        for t in range(len(self.layout.tables)):
            ids = nodes[bounds[t] : bounds[t + 1]] - offsets[t]
            if len(ids) == 0:
                continue
            if self.engine in IN_MEMORY:  # rows already in memory (both in-memory engines)
                full = self.memory.contents[t]
                ci = full.take(ids)
                out[t] = RowContent(
                    full.row_idx[ci],
                    full.parents[ci],
                    full.values[ci],
                    full.classes[ci],
                    full.valid[ci],
                    full.ts[ci],
                )
                continue
            tl = self.layout.tables[t]
            sql = fetch_sql(self.dialect, tl)
            raw = self.dialect.run(self.conn, sql, {ROW_IDS: {"row_idx": ids}})
            out[t] = to_content(self.layout, tl, raw)
        return out

    def sample_into(
        self, out: dict[str, np.ndarray], positions: np.ndarray, seeds: SeedBatch, db_idx: int
    ) -> None:
        walk = self.walk(seeds)
        assemble(out, positions, self.layout, walk, self.contents(walk), seeds, db_idx)


@dataclass
class SeedRows:
    """Seed rows of a batch across databases (parallel arrays)."""

    db: np.ndarray
    tab: np.ndarray
    row: np.ndarray
    asof: np.ndarray
    salt: np.ndarray
    target_slot: np.ndarray
    task_idx: np.ndarray

    def __len__(self) -> int:
        return len(self.row)


class BatchSampler:
    """Fill one batch from seed rows of several databases."""

    def __init__(self, samplers: list[DbSampler], ctx_len: int) -> None:
        self.samplers = samplers
        self.ctx_len = ctx_len

    def sample(self, seeds: SeedRows, batch_size: int | None = None) -> dict[str, np.ndarray]:
        n = len(seeds)
        out = empty_batch(batch_size or n, self.ctx_len)
        for d in np.unique(seeds.db).tolist():
            pos = np.nonzero(seeds.db == d)[0]
            batch = SeedBatch(
                tab=seeds.tab[pos],
                row=seeds.row[pos],
                asof=seeds.asof[pos],
                salt=seeds.salt[pos],
                target_slot=seeds.target_slot[pos],
                task_idx=seeds.task_idx[pos],
            )
            self.samplers[d].sample_into(out, pos, batch, d)
        return out

    def close(self) -> None:
        for s in self.samplers:
            s.close()
