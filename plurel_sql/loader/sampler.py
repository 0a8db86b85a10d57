"""Build batches of contexts from seed rows spread over one or many databases.

:class:`DbSampler` samples the contexts of one database through SQL: one
set-based query per hop (:mod:`walk`) and one fetch per table, on the database's
read-only connection with the session's TEMP link tables. :class:`BatchSampler`
groups a batch's seed rows by database and fills one set of batch arrays.
Samplers pickle without connections into DataLoader workers, where each process
opens its own. Another walk (the tests' in-memory references) plugs in by
subclassing :class:`DbSampler` and passing the class as ``sampler=``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from plurel_sql.dialects.loader_sql import ROW_IDS
from plurel_sql.errors import PlurelError
from plurel_sql.loader.assemble import assemble, empty_batch
from plurel_sql.loader.content import RowContent, fetch_sql, to_content
from plurel_sql.loader.layout import DbLayout, build_layout
from plurel_sql.loader.meta import Database
from plurel_sql.loader.walk import SeedBatch, WalkResult, node_cells, sql_walk


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
    """Contexts of one database, sampled with SQL."""

    def __init__(self, db: Database, ctx_len: int, max_width: int) -> None:
        check_sizes(ctx_len, max_width)
        self.db = db
        self.dialect = db.dialect
        self.layout: DbLayout = build_layout(db.schema, db.stats)
        self.ctx_len = ctx_len
        self.max_width = max_width
        self._session = (tuple(self.layout.edges), tuple(t.node_offset for t in self.layout.tables))
        self._cells: np.ndarray | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_cells": None}  # each process counts its own

    @property
    def cells(self) -> np.ndarray:
        """Non-NULL cells of every row by node id: the walk's budget counts what
        the batch will hold. Counted once per process, one read of each table."""
        if self._cells is None:
            with self.db.engine.driver_errors():
                contents = [
                    to_content(
                        self.layout,
                        tl,
                        self.dialect.run(self.conn, fetch_sql(self.dialect, tl, True)),
                    )
                    for tl in self.layout.tables
                ]
            self._cells = node_cells(self.layout, contents)
        return self._cells

    @property
    def conn(self) -> Any:
        """The database's read-only connection, with the session's link tables."""
        return self.db.engine.sampling_connection(*self._session)

    def close(self) -> None:
        self.db.close()

    def walk(self, seeds: SeedBatch) -> WalkResult:
        """The rows of every sequence's context, in context order."""
        return sql_walk(
            self.dialect, self.conn, self.layout, seeds, self.ctx_len, self.max_width, self.cells
        )

    def fetch(self, t: int, ids: np.ndarray) -> RowContent:
        """Cells of rows ``ids`` (sorted, unique) of table ``t``: one fetch query."""
        tl = self.layout.tables[t]
        raw = self.dialect.run(self.conn, fetch_sql(self.dialect, tl), {ROW_IDS: {"row_idx": ids}})
        return to_content(self.layout, tl, raw)

    def contents(self, walk: WalkResult) -> dict[int, RowContent]:
        """Cells of every selected row, one :meth:`fetch` per table."""
        out: dict[int, RowContent] = {}
        offsets = np.array([t.node_offset for t in self.layout.tables], np.int64)
        nodes = np.sort(offsets[walk.tab] + walk.row)  # sorted: grouped by table
        nodes = nodes[np.concatenate([[True], nodes[1:] != nodes[:-1]])]
        bounds = np.searchsorted(nodes, np.append(offsets, self.layout.num_nodes))
        for t in range(len(self.layout.tables)):
            ids = nodes[bounds[t] : bounds[t + 1]] - offsets[t]
            if len(ids):
                out[t] = self.fetch(t, ids)
        return out

    def sample_into(
        self, out: dict[str, np.ndarray], positions: np.ndarray, seeds: SeedBatch, db_idx: int
    ) -> None:
        with self.db.engine.driver_errors():
            walk = self.walk(seeds)
            contents = self.contents(walk)
        assemble(out, positions, self.layout, walk, contents, seeds, db_idx)


#: builds the sampler of one database: ``DbSampler`` or a subclass
SamplerFactory = Callable[[Database, int, int], DbSampler]


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
