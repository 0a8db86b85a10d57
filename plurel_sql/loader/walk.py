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

from dataclasses import dataclass
from typing import Any

import numpy as np

from plurel_sql.dialects.sampling_base import FRONTIER, SamplingDialect
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


def sql_walk(
    dialect: SamplingDialect,
    conn: Any,
    layout: DbLayout,
    seeds: SeedBatch,
    ctx_len: int,
    max_width: int,
) -> WalkResult:
    """Walk every sequence of ``seeds`` through the database, one query per hop.

    ``conn`` must have the session link tables (``dialect.prepare_session``).
    """
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
    sql = dialect.hop_sql(max_width)
    depth = 0
    while len(f_seq):
        depth += 1
        frontier = {
            "seq": f_seq,
            "node": f_node,
            "asof": seeds.asof[f_seq],
            "salt": seeds.salt[f_seq],
        }
        res = dialect.run(conn, sql, {FRONTIER: frontier})
        if res.num_rows == 0:
            break
        c_seq = res.column("seq").to_numpy().astype(np.int64)
        c_node = res.column("node").to_numpy().astype(np.int64)
        c_child = res.column("is_child").to_numpy().astype(np.int64)
        c_h = node_hash(seeds.salt[c_seq], c_node)
        keys = c_seq * num_nodes + c_node
        # drop rows seen at an earlier depth; one entry per new row, parent edge first
        o = np.lexsort((c_child, keys))
        keys, c_seq, c_node, c_child, c_h = (a[o] for a in (keys, c_seq, c_node, c_child, c_h))
        first = np.ones(len(keys), dtype=bool)
        first[1:] = keys[1:] != keys[:-1]
        at = np.minimum(np.searchsorted(visited, keys), len(visited) - 1)
        first &= visited[at] != keys  # not seen at an earlier depth
        keys, c_seq, c_node, c_child, c_h = (a[first] for a in (keys, c_seq, c_node, c_child, c_h))
        o = np.lexsort((c_node, c_h, c_child, c_seq))
        c_seq, c_node = c_seq[o], c_node[o]
        out_seq.append(c_seq)
        out_node.append(c_node)
        out_depth.append(np.full(len(c_seq), depth, np.int64))
        visited = np.sort(np.concatenate([visited, keys]))
        c_tab = np.searchsorted(offsets, c_node, side="right") - 1
        budget += np.bincount(c_seq, weights=widths[c_tab], minlength=b).astype(np.int64)
        go = budget[c_seq] < ctx_len
        f_seq, f_node = c_seq[go], c_node[go]
    node = np.concatenate(out_node)
    tab, row = node_tables(layout, node)
    return prefix_cut(np.concatenate(out_seq), tab, row, np.concatenate(out_depth), widths, ctx_len)
