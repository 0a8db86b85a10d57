"""The breadth-first context walk, run as one set-based SQL query per hop.

Rule (shared with the in-memory reference, see docs/loader.md): starting from
the seed row (depth 0), each hop takes the rows found at the previous depth
(the frontier) and collects, for every sequence of the batch at once,

* every parent row reached through the frontier row's foreign keys, and
* at most ``max_width`` child rows per frontier row over all incoming foreign
  keys, those with the smallest keyed hash,

excluding rows whose timestamp is later than the sequence's as-of time (the
seed's own timestamp, or the end of its split for rows without time). Rows seen
at an earlier depth are dropped; new rows are ordered by (parent before child,
hash, node id). A sequence stops growing once its rows hold ``ctx_len`` cells;
finally the longest prefix of rows that fits ``ctx_len`` is kept (the seed row
always). Rows are identified by node id (``node_offset[table] + row_idx``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from plurel_sql.dialects.base import Dialect
from plurel_sql.dialects.loader_sql import FRONTIER
from plurel_sql.loader.hashing import node_hash
from plurel_sql.loader.layout import DbLayout


@dataclass
class SeedBatch:
    """Seed rows of one database, one per sequence (``seq`` = position here)."""

    tab: np.ndarray  # table index of the seed row
    row: np.ndarray  # row_idx of the seed row
    asof: np.ndarray  # latest timestamp a context row may have (seconds)
    salt: np.ndarray  # per-sequence hash salt
    target_slot: np.ndarray  # cell index of the target column within the table
    task_idx: np.ndarray  # task index reported in the batch

    def __len__(self) -> int:
        return len(self.row)


@dataclass
class WalkResult:
    """Selected rows, grouped by sequence, in context order."""

    seq: np.ndarray
    tab: np.ndarray
    row: np.ndarray
    depth: np.ndarray

    def rows_of(self, seq: int) -> set[tuple[int, int]]:
        m = self.seq == seq
        return set(zip(self.tab[m].tolist(), self.row[m].tolist(), strict=True))


def node_tables(layout: DbLayout, node: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(table index, row_idx) of node ids."""
    offsets = np.asarray([t.node_offset for t in layout.tables], dtype=np.int64)
    tab = np.searchsorted(offsets, node, side="right") - 1
    return tab.astype(np.int64), node - offsets[tab]


def prefix_cut(
    seq: np.ndarray,
    tab: np.ndarray,
    row: np.ndarray,
    depth: np.ndarray,
    widths: np.ndarray,
    ctx_len: int,
) -> WalkResult:
    """Group rows by sequence (stable) and keep each sequence's longest prefix
    whose cells fit ``ctx_len`` (the seed row is always kept)."""
    order = np.argsort(seq, kind="stable")
    seq, tab, row, depth = seq[order], tab[order], row[order], depth[order]
    cum = np.cumsum(widths[tab])
    starts = np.searchsorted(seq, seq, side="left")
    before = np.where(starts > 0, cum[np.maximum(starts - 1, 0)], 0)
    keep = (cum - before <= ctx_len) | (depth == 0)
    return WalkResult(seq[keep], tab[keep], row[keep], depth[keep])


# one hop: (frontier seq, frontier node) -> (seq, node, is_child) of the rows it reaches
Hop = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]]


def bfs_walk(layout: DbLayout, seeds: SeedBatch, ctx_len: int, hop: Hop) -> WalkResult:
    """The walk of every sequence of ``seeds`` at once, hop by hop; ``hop`` finds the
    rows one step from a frontier (in SQL, or in numpy for the vectorized sampler)."""
    widths = np.asarray(layout.widths, dtype=np.int64)
    offsets = np.asarray([t.node_offset for t in layout.tables], dtype=np.int64)
    num_nodes = max(int(layout.num_nodes), 1)
    b = len(seeds)
    seq0 = np.arange(b, dtype=np.int64)
    node0 = offsets[seeds.tab] + seeds.row
    out_seq, out_node, out_depth = [seq0], [node0], [np.zeros(b, np.int64)]
    visited = np.sort(seq0 * num_nodes + node0)
    budget = widths[seeds.tab].copy()
    go = budget < ctx_len
    f_seq, f_node = seq0[go], node0[go]
    depth = 0
    while len(f_seq):
        depth += 1
        seq, node, is_child = hop(f_seq, f_node)
        seq, node, keys = new_rows(seq, node, is_child, seeds.salt, visited, num_nodes)
        out_seq.append(seq)
        out_node.append(node)
        out_depth.append(np.full(len(seq), depth, np.int64))
        visited = np.sort(np.concatenate([visited, keys]))
        tab = np.searchsorted(offsets, node, side="right") - 1
        budget += np.bincount(seq, weights=widths[tab], minlength=b).astype(np.int64)
        go = budget[seq] < ctx_len
        f_seq, f_node = seq[go], node[go]
    tab, row = node_tables(layout, np.concatenate(out_node))
    return prefix_cut(np.concatenate(out_seq), tab, row, np.concatenate(out_depth), widths, ctx_len)


def new_rows(
    seq: np.ndarray,
    node: np.ndarray,
    is_child: np.ndarray,
    salt: np.ndarray,
    visited: np.ndarray,
    num_nodes: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows of a hop not seen before, one per (seq, node), in context order.

    A row found as parent and as child counts as a parent; the result is sorted
    by (seq, parent first, hash, node). Returns (seq, node, key) with
    ``key = seq * num_nodes + node`` for the visited set.
    """
    keys = seq * num_nodes + node
    o = np.lexsort((is_child, keys))
    keys, seq, node, is_child = keys[o], seq[o], node[o], is_child[o]
    first = np.ones(len(keys), dtype=bool)
    first[1:] = keys[1:] != keys[:-1]
    at = np.minimum(np.searchsorted(visited, keys), len(visited) - 1)
    first &= visited[at] != keys  # not seen at an earlier depth
    keys, seq, node, is_child = keys[first], seq[first], node[first], is_child[first]
    o = np.lexsort((node, node_hash(salt[seq], node), is_child, seq))
    return seq[o], node[o], keys


def sql_walk(
    dialect: Dialect,
    conn: Any,
    layout: DbLayout,
    seeds: SeedBatch,
    ctx_len: int,
    max_width: int,
) -> WalkResult:
    """Walk every sequence of ``seeds`` through the database, one query per hop.

    ``conn`` must have the session link tables (``dialect.prepare_session``).
    """
    sql = dialect.hop_sql(max_width)

    def hop(f_seq: np.ndarray, f_node: np.ndarray):
        frontier = {
            "seq": f_seq,
            "node": f_node,
            "asof": seeds.asof[f_seq],
            "salt": seeds.salt[f_seq],
        }
        res = dialect.run(conn, sql, {FRONTIER: frontier})
        return tuple(
            res.column(name).to_numpy().astype(np.int64) for name in ("seq", "node", "is_child")
        )

    return bfs_walk(layout, seeds, ctx_len, hop)
