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
hash, node id). The budget counts non-NULL cells (``cells[node]``, what the
batch will hold): a sequence stops growing once its rows hold ``ctx_len`` of
them; finally every row that starts before the ``ctx_len``-th cell is kept, so
the last row may be cut (the seed row always stays). Rows are identified by
node id (``node_offset[table] + row_idx``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from plurel_sql.dialects.base import Dialect
from plurel_sql.dialects.loader_sql import FRONTIER
from plurel_sql.loader.content import RowContent
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
    n_cells: np.ndarray,
    ctx_len: int,
) -> WalkResult:
    """Group rows by sequence (stable) and keep each sequence's rows that begin
    before its ``ctx_len``-th cell (``n_cells``: non-NULL cells of each row; the
    last kept row may overflow and is cut when the batch is built; the seed row
    is always kept)."""
    order = np.argsort(seq, kind="stable")
    seq, tab, row, depth = seq[order], tab[order], row[order], depth[order]
    n_cells = np.asarray(n_cells, dtype=np.int64)[order]
    cum = np.cumsum(n_cells)
    starts = np.searchsorted(seq, seq, side="left")
    before = np.where(starts > 0, cum[np.maximum(starts - 1, 0)], 0)
    keep = (cum - n_cells - before < ctx_len) | (depth == 0)
    return WalkResult(seq[keep], tab[keep], row[keep], depth[keep])


def node_cells(layout: DbLayout, contents: Sequence[RowContent]) -> np.ndarray:
    """Non-NULL cells of every row by node id, from the contents of whole tables
    (rows missing from a content count 0)."""
    out = np.zeros(max(int(layout.num_nodes), 1), dtype=np.int64)
    for tl, content in zip(layout.tables, contents, strict=True):
        out[tl.node_offset + content.row_idx] = content.valid.sum(axis=1)
    return out


# one hop: (frontier seq, frontier node) -> (seq, node, is_child) of the rows it reaches
Hop = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]]


def bfs_walk(
    layout: DbLayout, seeds: SeedBatch, ctx_len: int, hop: Hop, cells: np.ndarray
) -> WalkResult:
    """The walk of every sequence of ``seeds`` at once, hop by hop; ``hop`` finds the
    rows one step from a frontier (in SQL, or in numpy for the vectorized sampler);
    ``cells`` are the non-NULL cells of each node (:func:`node_cells`)."""
    offsets = np.asarray([t.node_offset for t in layout.tables], dtype=np.int64)
    num_nodes = max(int(layout.num_nodes), 1)
    b = len(seeds)
    seq0 = np.arange(b, dtype=np.int64)
    node0 = offsets[seeds.tab] + seeds.row
    out_seq, out_node, out_depth = [seq0], [node0], [np.zeros(b, np.int64)]
    visited = np.sort(seq0 * num_nodes + node0)
    budget = cells[node0].copy()
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
        budget += np.bincount(seq, weights=cells[node], minlength=b).astype(np.int64)
        go = budget[seq] < ctx_len
        f_seq, f_node = seq[go], node[go]
    nodes = np.concatenate(out_node)
    tab, row = node_tables(layout, nodes)
    return prefix_cut(
        np.concatenate(out_seq), tab, row, np.concatenate(out_depth), cells[nodes], ctx_len
    )


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
    cells: np.ndarray,
) -> WalkResult:
    """Walk every sequence of ``seeds`` through the database, one query per hop.

    ``conn`` must have the session link tables (``dialect.prepare_session``);
    ``cells`` are the non-NULL cells of each node (:func:`node_cells`).
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

    return bfs_walk(layout, seeds, ctx_len, hop, cells)
