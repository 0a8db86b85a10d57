"""In-memory reference sampler: the same walk over tables read whole into numpy.

It exists as an oracle: tests check that the SQL sampler selects exactly the
rows this straightforward per-sequence breadth-first search selects, and the
benchmark compares the SQL path's throughput with it. It shares only the hash
(``plurel_sql.loader.hashing``) and the cell conversion
(``plurel_sql.loader.content``) with the SQL path; the walk itself is written
independently, one sequence at a time. :class:`MemorySampler` plugs it into
``ContextSource``/``ContextDataset`` (``sampler=MemorySampler``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from plurel_sql.dialects.base import Dialect
from plurel_sql.dialects.loader_sql import NO_TIME
from plurel_sql.loader.content import RowContent, fetch_sql, to_content
from plurel_sql.loader.hashing import node_hash
from plurel_sql.loader.layout import DbLayout
from plurel_sql.loader.meta import Database
from plurel_sql.loader.sampler import DbSampler
from plurel_sql.loader.walk import SeedBatch, WalkResult, node_cells, prefix_cut


@dataclass
class ChildIndex:
    """Children of each parent row through one foreign key (CSR layout)."""

    child_idx: int
    offsets: np.ndarray  # parent row -> start in rows
    rows: np.ndarray  # child row ids grouped by parent


@dataclass
class InMemoryTables:
    """Every table of a database, whole: contents, foreign keys, times, children."""

    contents: list[RowContent]
    fks: list[list[tuple[int, np.ndarray]]]  # per table: (parent idx, fk column values)
    ts: list[np.ndarray]
    children: list[list[ChildIndex]]  # per parent table


def load_tables(dialect: Dialect, conn: Any, layout: DbLayout) -> InMemoryTables:
    """Read every table whole (one query each) and index its foreign keys."""
    contents, fks, tss = [], [], []
    for tl in layout.tables:
        sql = fetch_sql(dialect, tl, all_rows=True)
        raw = dialect.run(conn, sql)
        content = to_content(layout, tl, raw)
        n = tl.table.num_rows
        if len(content.row_idx) != n or (n and content.row_idx[-1] != n - 1):
            n = int(content.row_idx.max()) + 1 if len(content.row_idx) else 0
        ts = np.full(n, NO_TIME, dtype=np.int64)
        ts[content.row_idx] = content.ts
        per_fk = []
        for fk, p in zip(tl.fk_columns, tl.parent_idxs, strict=True):
            col = raw.column(f"fk:{fk}").to_numpy().astype(np.int64)
            vals = np.full(n, -1, dtype=np.int64)
            vals[content.row_idx] = col
            per_fk.append((p, vals))
        contents.append(content)
        fks.append(per_fk)
        tss.append(ts)
    children: list[list[ChildIndex]] = [[] for _ in layout.tables]
    for ci, per_fk in enumerate(fks):
        for p, vals in per_fk:
            n_parent = len(tss[p])
            ok = vals >= 0
            kids = np.nonzero(ok)[0]
            order = np.argsort(vals[ok], kind="stable")
            counts = np.bincount(vals[ok], minlength=n_parent)
            offsets = np.concatenate([[0], np.cumsum(counts)])
            children[p].append(ChildIndex(ci, offsets, kids[order]))
    return InMemoryTables(contents, fks, tss, children)


def memory_walk(
    mem: InMemoryTables, layout: DbLayout, seeds: SeedBatch, ctx_len: int, max_width: int
) -> WalkResult:
    """The context walk of docs/loader.md, one sequence at a time."""
    # non-NULL cells of each row, per table, from the rows held in memory
    counts = []
    for c in mem.contents:
        n = np.zeros(int(c.row_idx.max()) + 1 if len(c.row_idx) else 0, np.int64)
        n[c.row_idx] = c.valid.sum(axis=1)
        counts.append(n)
    seq_cells = []
    offsets = [t.node_offset for t in layout.tables]
    seqs, tabs, rows, depths = [], [], [], []
    for s in range(len(seeds)):
        asof, salt = int(seeds.asof[s]), int(seeds.salt[s])
        start = (int(seeds.tab[s]), int(seeds.row[s]))
        visited = {start}
        seqs.append(s)
        tabs.append(start[0])
        rows.append(start[1])
        depths.append(0)
        seq_cells.append(int(counts[start[0]][start[1]]))
        budget = seq_cells[-1]
        frontier = [start]
        depth = 0
        while frontier and budget < ctx_len:
            depth += 1
            found: dict[tuple[int, int], tuple[int, int]] = {}  # row -> (is_child, hash)
            for t, r in frontier:
                for p, vals in mem.fks[t]:
                    pr = int(vals[r])
                    if pr < 0:
                        continue
                    pts = mem.ts[p][pr]
                    if pts != NO_TIME and pts > asof:
                        continue
                    found[(p, pr)] = (0, int(node_hash(salt, offsets[p] + pr)))
                cand_tab, cand_row = [], []
                for ch in mem.children[t]:
                    kids = ch.rows[ch.offsets[r] : ch.offsets[r + 1]]
                    kts = mem.ts[ch.child_idx][kids]
                    kids = kids[(kts == NO_TIME) | (kts <= asof)]
                    cand_tab.append(np.full(len(kids), ch.child_idx, np.int64))
                    cand_row.append(kids)
                if not cand_row:
                    continue
                ct, cr = np.concatenate(cand_tab), np.concatenate(cand_row)
                cn = np.asarray(offsets, dtype=np.int64)[ct] + cr
                ch_hash = node_hash(salt, cn)
                keep = np.lexsort((cn, ch_hash))[:max_width]
                for j in keep:
                    key = (int(ct[j]), int(cr[j]))
                    if key not in found:
                        found[key] = (1, int(ch_hash[j]))
            new = [
                (v[0], v[1], offsets[k[0]] + k[1], k[0], k[1])
                for k, v in found.items()
                if k not in visited
            ]
            new.sort()
            frontier = [(t, r) for _, _, _, t, r in new]
            for t, r in frontier:
                visited.add((t, r))
                seqs.append(s)
                tabs.append(t)
                rows.append(r)
                depths.append(depth)
                seq_cells.append(int(counts[t][r]))
                budget += seq_cells[-1]
    as_arr = lambda x: np.asarray(x, dtype=np.int64)  # noqa: E731
    return prefix_cut(
        as_arr(seqs), as_arr(tabs), as_arr(rows), as_arr(depths), as_arr(seq_cells), ctx_len
    )


class MemorySampler(DbSampler):
    """Contexts walked by :func:`memory_walk` over tables read whole (one query
    each, on the database's read-only connection); cells served from memory."""

    def __init__(self, db: Database, ctx_len: int, max_width: int) -> None:
        super().__init__(db, ctx_len, max_width)
        self._mem: InMemoryTables | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_mem": None}

    @property
    def memory(self) -> InMemoryTables:
        if self._mem is None:
            self._mem = load_tables(self.dialect, self.db.connection(), self.layout)
        return self._mem

    @property
    def cells(self) -> np.ndarray:
        """Non-NULL cells by node id, from the tables held in memory."""
        if self._cells is None:
            self._cells = node_cells(self.layout, self.memory.contents)
        return self._cells

    def walk(self, seeds: SeedBatch) -> WalkResult:
        return memory_walk(self.memory, self.layout, seeds, self.ctx_len, self.max_width)

    def fetch(self, t: int, ids: np.ndarray) -> RowContent:
        full = self.memory.contents[t]
        ci = full.take(ids)
        return RowContent(
            full.row_idx[ci],
            full.parents[ci],
            full.values[ci],
            full.classes[ci],
            full.valid[ci],
            full.ts[ci],
        )
