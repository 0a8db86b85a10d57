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
hash, table, row). A sequence stops growing once its rows hold ``ctx_len``
cells; finally the longest prefix of rows that fits ``ctx_len`` is kept (the
seed row always).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from plurel_sql.dialects.sampling_base import FRONTIER, SamplingDialect
from plurel_sql.loader.layout import DbLayout

KEY_ROW_BITS = 2**32


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


def row_keys(seq: np.ndarray, tab: np.ndarray, row: np.ndarray, num_tables: int) -> np.ndarray:
    return (seq.astype(np.int64) * num_tables + tab) * KEY_ROW_BITS + row


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
    w = widths[tab]
    cum = np.cumsum(w)
    starts = np.searchsorted(seq, seq, side="left")
    before = np.where(starts > 0, cum[starts - 1], 0) if len(seq) else cum
    within = cum - before
    keep = (within <= ctx_len) | (depth == 0)
    return WalkResult(seq[keep], tab[keep], row[keep], depth[keep])


def sql_walk(
    dialect: SamplingDialect,
    conn: Any,
    layout: DbLayout,
    seeds: SeedBatch,
    ctx_len: int,
    max_width: int,
) -> WalkResult:
    """Walk every sequence of ``seeds`` through the database, one query per hop."""
    n_tab = len(layout.tables)
    widths = np.asarray(layout.widths, dtype=np.int64)
    b = len(seeds)
    seq0 = np.arange(b, dtype=np.int64)
    out_seq, out_tab, out_row, out_depth = [seq0], [seeds.tab], [seeds.row], [np.zeros(b, np.int64)]
    visited = np.sort(row_keys(seq0, seeds.tab, seeds.row, n_tab))
    budget = widths[seeds.tab].copy()
    f_seq, f_tab, f_row = (
        seq0[budget < ctx_len],
        seeds.tab[budget < ctx_len],
        seeds.row[budget < ctx_len],
    )
    depth = 0
    while len(f_seq):
        depth += 1
        sql = dialect.hop_sql(layout.edges, set(np.unique(f_tab).tolist()), max_width)
        if not sql:
            break
        frontier = {
            "seq": f_seq,
            "tab": f_tab,
            "row_idx": f_row,
            "asof": seeds.asof[f_seq],
            "salt": seeds.salt[f_seq],
        }
        res = dialect.run(conn, sql, {FRONTIER: frontier})
        if res.num_rows == 0:
            break
        c_seq = res.column("seq").to_numpy().astype(np.int64)
        c_tab = res.column("tab").to_numpy().astype(np.int64)
        c_row = res.column("row_idx").to_numpy().astype(np.int64)
        c_child = res.column("is_child").to_numpy().astype(np.int64)
        c_h = res.column("h").to_numpy().astype(np.int64)
        keys = row_keys(c_seq, c_tab, c_row, n_tab)
        fresh = ~np.isin(keys, visited, assume_unique=False)
        keys, c_seq, c_tab, c_row, c_child, c_h = (
            a[fresh] for a in (keys, c_seq, c_tab, c_row, c_child, c_h)
        )
        # one entry per new row, a parent edge winning over a child edge
        o = np.lexsort((c_child, keys))
        keys, c_seq, c_tab, c_row, c_child, c_h = (
            a[o] for a in (keys, c_seq, c_tab, c_row, c_child, c_h)
        )
        first = np.ones(len(keys), dtype=bool)
        first[1:] = keys[1:] != keys[:-1]
        keys, c_seq, c_tab, c_row, c_child, c_h = (
            a[first] for a in (keys, c_seq, c_tab, c_row, c_child, c_h)
        )
        o = np.lexsort((c_row, c_tab, c_h, c_child, c_seq))
        c_seq, c_tab, c_row = c_seq[o], c_tab[o], c_row[o]
        out_seq.append(c_seq)
        out_tab.append(c_tab)
        out_row.append(c_row)
        out_depth.append(np.full(len(c_seq), depth, np.int64))
        visited = np.union1d(visited, keys)
        budget += np.bincount(c_seq, weights=widths[c_tab], minlength=b).astype(np.int64)
        go = budget[c_seq] < ctx_len
        f_seq, f_tab, f_row = c_seq[go], c_tab[go], c_row[go]
    return prefix_cut(
        np.concatenate(out_seq),
        np.concatenate(out_tab),
        np.concatenate(out_row),
        np.concatenate(out_depth),
        widths,
        ctx_len,
    )
