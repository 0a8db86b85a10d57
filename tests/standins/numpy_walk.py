"""Vectorized in-memory sampler: the context walk set-based in numpy.

The same walk as the SQL sampler (:mod:`walk`, rule in docs/loader.md) over
tables read whole, for a whole group of sequences per hop: each hop expands the
frontier through CSR link arrays built once per database, selects at most
``max_width`` children per (sequence, frontier row) with one sort of the groups
that exceed the cap, and deduplicates with sorted keys. There is no Python loop
over sequences or rows, only over hops.

Why it exists: the per-sequence reference (:mod:`memory_walk`) is an
independent oracle for tests but a slow anchor for benchmarks; this one is the
fair in-memory baseline to compare the SQL path's throughput with. Only the hop
is its own: the walk around it (``plurel_sql.loader.walk.bfs_walk``:
deduplication, budgets, the final prefix cut) is the SQL sampler's, and the hash
and the tables read by :func:`memory_walk.load_tables` are shared with the other
samplers. :class:`NumpySampler` plugs it in (``sampler=NumpySampler``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from plurel_sql.dialects.loader_sql import NO_TIME
from plurel_sql.loader.hashing import node_hash
from plurel_sql.loader.layout import DbLayout
from plurel_sql.loader.meta import Database
from plurel_sql.loader.walk import SeedBatch, WalkResult, bfs_walk
from standins.memory_walk import InMemoryTables, MemorySampler


@dataclass
class LinkIndex:
    """Foreign-key links in one direction, grouped by source node (CSR).

    The links of node ``n`` are positions ``offsets[n] : offsets[n + 1]`` of
    ``other`` (node id at the other end) and ``other_ts`` (its time, NO_TIME
    when untimed). A row linked twice (two keys to the same row) appears twice,
    as in the SQL link tables.
    """

    offsets: np.ndarray
    other: np.ndarray
    other_ts: np.ndarray


@dataclass
class VectorIndex:
    """What a hop needs, by node id: parent links and child links."""

    up: LinkIndex  # child -> parents
    down: LinkIndex  # parent -> children


def _links(src: np.ndarray, dst: np.ndarray, ts: np.ndarray, num_nodes: int) -> LinkIndex:
    """CSR of the links ``src[i] -> dst[i]``, grouped by ``src``."""
    order = np.argsort(src, kind="stable")
    counts = np.bincount(src, minlength=num_nodes)
    offsets = np.zeros(num_nodes + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    other = dst[order]
    return LinkIndex(offsets, other, ts[other])


def build_index(mem: InMemoryTables, layout: DbLayout) -> VectorIndex:
    """Link arrays by node id from the foreign-key columns of tables read whole."""
    num_nodes = int(layout.num_nodes)
    offsets = [t.node_offset for t in layout.tables]
    ts = np.full(num_nodes, NO_TIME, dtype=np.int64)
    children, parents = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    for t in range(len(layout.tables)):
        n = min(len(mem.ts[t]), num_nodes - offsets[t])
        ts[offsets[t] : offsets[t] + n] = mem.ts[t][:n]
        for p, vals in mem.fks[t]:
            rows = np.nonzero(vals >= 0)[0]
            children.append(rows + offsets[t])
            parents.append(vals[rows] + offsets[p])
    child, parent = np.concatenate(children), np.concatenate(parents)
    return VectorIndex(
        up=_links(child, parent, ts, num_nodes),
        down=_links(parent, child, ts, num_nodes),
    )


def expand(links: LinkIndex, nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every link of ``nodes``: (position in ``nodes``, position in the link arrays).

    Owners come out ascending, so the links of one node stay contiguous.
    """
    start = links.offsets[nodes]
    count = links.offsets[nodes + 1] - start
    owner = np.repeat(np.arange(len(nodes), dtype=np.int64), count)
    first = np.cumsum(count) - count  # where each owner's links begin in the output
    pos = np.arange(len(owner), dtype=np.int64) - first[owner] + start[owner]
    return owner, pos


def top_children(
    owner: np.ndarray, node: np.ndarray, h: np.ndarray, num_owners: int, max_width: int
) -> np.ndarray:
    """Mask keeping, per owner, the ``max_width`` links of smallest (hash, node).

    ``owner`` must be ascending. Owners within the cap keep everything without
    sorting; only the candidates of owners over the cap are sorted.
    """
    count = np.bincount(owner, minlength=num_owners)
    keep = count[owner] <= max_width
    over = np.nonzero(~keep)[0]
    if len(over) == 0:
        return keep
    o = np.lexsort((node[over], h[over], owner[over]))
    grp = owner[over][o]
    rank = np.arange(len(o)) - np.searchsorted(grp, grp, side="left")
    keep[over[o[rank < max_width]]] = True
    return keep


def hop(
    index: VectorIndex,
    seeds: SeedBatch,
    f_seq: np.ndarray,
    f_node: np.ndarray,
    max_width: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Candidates of one hop for every frontier row: (seq, node, is_child).

    Every parent not later than the sequence's as-of time, and per frontier row
    the ``max_width`` time-valid children with the smallest (hash, node).
    """
    asof = seeds.asof[f_seq]
    owner, pos = expand(index.up, f_node)
    ok = index.up.other_ts[pos] <= asof[owner]
    p_seq, p_node = f_seq[owner[ok]], index.up.other[pos[ok]]
    owner, pos = expand(index.down, f_node)
    ok = index.down.other_ts[pos] <= asof[owner]
    owner, c_node = owner[ok], index.down.other[pos[ok]]
    c_seq = f_seq[owner]
    keep = top_children(owner, c_node, node_hash(seeds.salt[c_seq], c_node), len(f_node), max_width)
    seq = np.concatenate([p_seq, c_seq[keep]])
    node = np.concatenate([p_node, c_node[keep]])
    is_child = np.concatenate([np.zeros(len(p_seq), np.int64), np.ones(int(keep.sum()), np.int64)])
    return seq, node, is_child


def vectorized_walk(
    index: VectorIndex,
    layout: DbLayout,
    seeds: SeedBatch,
    ctx_len: int,
    max_width: int,
    cells: np.ndarray,
) -> WalkResult:
    """The context walk of docs/loader.md for every sequence of ``seeds`` at once."""
    return bfs_walk(
        layout,
        seeds,
        ctx_len,
        lambda f_seq, f_node: hop(index, seeds, f_seq, f_node, max_width),
        cells,
    )


class NumpySampler(MemorySampler):
    """Contexts walked by :func:`vectorized_walk`; tables and cells as in
    :class:`MemorySampler` (CSR link arrays built once, never pickled)."""

    def __init__(self, db: Database, ctx_len: int, max_width: int) -> None:
        super().__init__(db, ctx_len, max_width)
        self._vec: VectorIndex | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {**super().__getstate__(), "_vec": None}

    @property
    def vector(self) -> VectorIndex:
        if self._vec is None:
            self._vec = build_index(self.memory, self.layout)
        return self._vec

    def walk(self, seeds: SeedBatch) -> WalkResult:
        return vectorized_walk(
            self.vector, self.layout, seeds, self.ctx_len, self.max_width, self.cells
        )
