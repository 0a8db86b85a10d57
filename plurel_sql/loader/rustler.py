"""``sampler="rustler"``: contexts under the rules of the reference's sampler.

The Relational Transformer's own sampler (``rustler`` in snap-stanford/plurel)
walks one seed row at a time with a seeded generator. This module follows its
rules on our databases (docs/loader.md compares them with ours, rule by rule):

* walk order: parents first, depth-first (a stack); when no parent is pending,
  a uniformly random row of the shallowest pool of children; a row seen before
  at the same or a smaller depth is skipped, a row reached again at a smaller
  depth is walked again;
* neighbours: every parent; at most ``max_width`` children per walked row,
  a uniform random subset (order random too) when there are more;
* time: children (and parents, our addition: generated parents have no time)
  are admitted when they have no time, or when the seed has a time and theirs
  is not later. A seed without time therefore sees only rows without time;
* budget: non-NULL cells; the walk stops before the first row that would bring
  the count to ``ctx_len`` (the seed row is kept even then, our addition);
* cells: all non-NULL cells of the walked rows, sorted by column index (stable:
  walk order within a column), cut at ``ctx_len`` keeping the target cell;
* values: numbers and booleans z-scored with the column's mean and *sample*
  standard deviation, every datetime with one mean and standard deviation over
  all datetime cells of the database (0 std -> 1).

The reference's generator (Rust's StdRng) cannot be reproduced here; each
context draws uniforms from its own keyed stream (:func:`draws`), one per random
pick from a pool of more than one row, ``max_width`` per subsampled child list
(a partial Fisher-Yates shuffle). The walk runs over link arrays read into
memory once per process (like the reference's preprocessed adjacency); cells are
fetched with the SQL sampler's per-table query.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from plurel_sql.dialects.loader_sql import NO_TIME
from plurel_sql.loader.content import RowContent, fetch_sql, to_content
from plurel_sql.loader.layout import (
    SEM_BOOLEAN,
    SEM_DATETIME,
    SEM_NUMBER,
    SEM_TEXT,
    DbLayout,
    build_layout,
)
from plurel_sql.loader.meta import Database
from plurel_sql.loader.sampler import DbSampler
from plurel_sql.loader.walk import SeedBatch, WalkResult, node_cells
from plurel_sql.rng import Draw, stream

Stats = dict[tuple[str, str], tuple[float, float]]


def _sample_std(x: np.ndarray) -> float:
    """Sample standard deviation (n - 1), 1 where it is 0 or undefined."""
    std = float(np.std(x, ddof=1)) if len(x) > 1 else 0.0
    return std if std > 1e-12 else 1.0


def rustler_stats(layout: DbLayout, raws: list[pa.Table]) -> Stats:
    """(mean, std) per (table, column) as the reference normalizes: numbers and
    booleans with the sample standard deviation, every time column with the one
    scale of all the database's datetime cells (population standard deviation)."""
    out: Stats = {}
    times = []
    for tl, raw in zip(layout.tables, raws, strict=True):
        for c in tl.table.cell_columns:
            if c.kind == "categorical":
                continue
            name = ("n:" if c.kind == "numeric" else "b:") + c.name
            x = raw.column(name).cast(pa.float64()).to_numpy(zero_copy_only=False)
            x = np.asarray(x, dtype=np.float64)
            x = x[~np.isnan(x)]
            out[(tl.name, c.name)] = (float(x.mean()) if len(x) else 0.0, _sample_std(x))
        if tl.table.time_column:
            ts = raw.column("ts").to_numpy().astype(np.int64)
            times.append(ts[ts != NO_TIME].astype(np.float64))
    t = np.concatenate(times) if times else np.zeros(0)
    mean = float(t.mean()) if len(t) else 0.0
    std = float(t.std()) if len(t) else 1.0
    scale = (mean, std if std > 1e-12 else 1.0)
    for tl in layout.tables:
        if tl.table.time_column:
            out[(tl.name, tl.table.time_column)] = scale
    return out


@dataclass
class Graph:
    """Links by node id (CSR), times and non-NULL cell counts, as Python lists
    (the walk reads them element by element)."""

    up_ptr: list[int]
    up: list[int]  # parents of each node, in foreign-key order
    down_ptr: list[int]
    down: list[int]  # children of each node, by (time, node id); no time first
    down_ts: list[int]
    ts: list[int]
    cells: list[int]
    cells_np: np.ndarray


def build_graph(layout: DbLayout, raws: list[pa.Table]) -> Graph:
    """The link arrays of a database from its tables read whole."""
    n = max(int(layout.num_nodes), 1)
    ts = np.full(n, NO_TIME, np.int64)
    child, parent = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    contents = []
    for tl, raw in zip(layout.tables, raws, strict=True):
        content = to_content(layout, tl, raw)
        contents.append(content)
        ids = tl.node_offset + content.row_idx
        ts[ids] = content.ts
        for fk, p_idx in zip(tl.fk_columns, tl.parent_idxs, strict=True):
            col = raw.column(f"fk:{fk}")
            fkv = np.asarray(col.to_numpy(zero_copy_only=False), dtype=np.int64)
            ok = fkv >= 0
            child.append(ids[ok])
            parent.append(fkv[ok] + layout.tables[p_idx].node_offset)
    c, p = np.concatenate(child), np.concatenate(parent)
    o = np.argsort(c, kind="stable")  # keeps foreign-key order within a child
    up_ptr = np.concatenate([[0], np.cumsum(np.bincount(c, minlength=n))])
    o2 = np.lexsort((c, ts[c], p))
    down_ptr = np.concatenate([[0], np.cumsum(np.bincount(p, minlength=n))])
    cells = node_cells(layout, contents)
    return Graph(
        up_ptr.tolist(),
        p[o].tolist(),
        down_ptr.tolist(),
        c[o2].tolist(),
        ts[c[o2]].tolist(),
        ts.tolist(),
        cells.tolist(),
        cells,
    )


def draws(salt: int) -> Iterator[float]:
    """The uniforms in [0, 1) of one context, from the stream keyed by its salt."""
    g = stream(int(salt), Draw.LOADER, Draw.RUSTLER)
    while True:
        yield from g.random(64).tolist()


def walk_one(
    g: Graph, seed: int, seed_ts: int | None, ctx_len: int, max_width: int, u: Iterator[float]
) -> list[int]:
    """Node ids walked from ``seed`` in the reference's order (with repeats when
    a row is reached again at a smaller depth); ``seed_ts`` None for a seed
    without time; ``u`` the context's uniforms."""
    limit = NO_TIME if seed_ts is None else seed_ts  # latest admitted time
    up_ptr, up, down_ptr, down, down_ts = g.up_ptr, g.up, g.down_ptr, g.down, g.down_ts
    ts, cells = g.ts, g.cells
    out: list[int] = []
    seen: dict[int, int] = {}
    stack: list[tuple[int, int]] = []
    pools: list[list[int]] = [[seed]]
    low = 0  # no pool below this depth holds rows
    used = 0
    while True:
        if stack:
            depth, node = stack.pop()
        else:
            while low < len(pools) and not pools[low]:
                low += 1
            if low == len(pools):
                return out
            depth, pool = low, pools[low]
            last = len(pool) - 1
            if last:
                r = int(next(u) * (last + 1))
                pool[r], pool[last] = pool[last], pool[r]
            node = pool.pop()
        prev = seen.get(node)
        if prev is not None and prev <= depth:
            continue
        used += cells[node]
        if used >= ctx_len:
            if not out:
                out.append(node)
            return out
        seen[node] = depth
        out.append(node)
        nxt = depth + 1
        for pnode in up[up_ptr[node] : up_ptr[node + 1]]:
            t = ts[pnode]
            if t == NO_TIME or t <= limit:
                stack.append((nxt, pnode))
        lo = down_ptr[node]
        hi = bisect_right(down_ts, limit, lo, down_ptr[node + 1])
        if hi == lo:
            continue
        while len(pools) <= nxt:
            pools.append([])
        if hi - lo <= max_width:
            pools[nxt].extend(down[lo:hi])
        else:
            pools[nxt].extend(partial_shuffle(down, lo, hi, max_width, u))


def partial_shuffle(items: list[int], lo: int, hi: int, m: int, u: Iterator[float]) -> list[int]:
    """``m`` distinct items of ``items[lo:hi]`` drawn uniformly, in random order:
    the first ``m`` steps of a Fisher-Yates shuffle (step ``i`` swaps positions
    ``i`` and ``i + floor(u * (n - i))``), kept sparse so a long list is not copied."""
    n = hi - lo
    moved: dict[int, int] = {}
    out = []
    for i in range(m):
        j = i + int(next(u) * (n - i))
        at_i, at_j = moved.get(i, i), moved.get(j, j)
        moved[j] = at_i
        out.append(items[lo + at_j])
    return out


def rustler_walk(g: Graph, layout: DbLayout, seeds: SeedBatch, ctx_len: int, max_width: int):
    """The rows of every context of ``seeds``, each walked row once in first-seen
    order (``depth`` is 0 for the seed row, 1 for every other row)."""
    offsets = np.array([t.node_offset for t in layout.tables], np.int64)
    timed = np.array([t.table.time_column is not None for t in layout.tables])
    seq, nodes = [], []
    for i in range(len(seeds)):
        tab = int(seeds.tab[i])
        seed = int(offsets[tab] + seeds.row[i])
        seed_ts = int(seeds.asof[i]) if timed[tab] else None
        walked = walk_one(g, seed, seed_ts, ctx_len, max_width, draws(int(seeds.salt[i])))
        uniq = list(dict.fromkeys(walked))
        seq += [i] * len(uniq)
        nodes += uniq
    node = np.asarray(nodes, np.int64)
    tab = np.searchsorted(offsets, node, side="right") - 1
    s = np.asarray(seq, np.int64)
    depth = np.ones(len(s), np.int64)
    depth[np.searchsorted(s, np.arange(len(seeds)))] = 0
    return WalkResult(s, tab.astype(np.int64), node - offsets[tab], depth)


def assemble_rustler(
    out: dict[str, np.ndarray],
    positions: np.ndarray,
    layout: DbLayout,
    walk: WalkResult,
    contents: dict[int, RowContent],
    seeds: SeedBatch,
    db_idx: int,
) -> None:
    """Write the cells of ``walk`` into rows ``positions`` of ``out``: every
    non-NULL cell of the walked rows sorted by (column index, walk order), cut at
    ``ctx_len`` keeping the target cell, booleans z-scored. The target cell is
    marked and blanked and its value is ``target_values``, as in our format."""
    ctx_len = out["node_idxs"].shape[1]
    order = np.arange(len(walk.seq), dtype=np.int64)
    target_col = np.array(
        [
            layout.tables[t].cells[k].col_idx
            for t, k in zip(seeds.tab, seeds.target_slot, strict=True)
        ],
        dtype=np.int64,
    )
    parts: dict[str, list[np.ndarray]] = {
        k: [] for k in ("o", "node", "par", "tab", "col", "sem", "val", "raw", "cls", "ts", "tgt")
    }
    for t in np.unique(walk.tab).tolist():
        m = walk.tab == t
        tl, content = layout.tables[t], contents[t]
        ci = content.take(walk.row[m])
        slot = np.arange(tl.width)
        target = (walk.depth[m] == 0)[:, None] & (slot == seeds.target_slot[walk.seq[m]][:, None])
        rr, ss = np.nonzero(content.valid[ci] | target)
        sem = np.array([c.sem_type for c in tl.cells], np.int64)[ss]
        mean = np.array([c.mean for c in tl.cells])[ss]
        std = np.array([c.std for c in tl.cells])[ss]
        raw = content.values[ci][rr, ss]
        parts["o"].append(order[m][rr])
        parts["node"].append(content.row_idx[ci][rr] + tl.node_offset)
        parts["par"].append(content.parents[ci][rr])
        parts["tab"].append(np.full(len(rr), t, np.int64))
        parts["col"].append(np.array([c.col_idx for c in tl.cells], np.int64)[ss])
        parts["sem"].append(sem)
        parts["raw"].append(raw)
        parts["val"].append(np.where(sem == SEM_BOOLEAN, (raw - mean) / std, raw))
        parts["cls"].append(content.classes[ci][rr, ss])
        parts["ts"].append(content.ts[ci][rr])
        parts["tgt"].append(target[rr, ss])
    cat = {k: np.concatenate(v) for k, v in parts.items()}
    cseq = walk.seq[cat["o"]]
    srt = np.lexsort((cat["o"], cat["col"], cseq))
    cat = {k: v[srt] for k, v in cat.items()}
    cseq = cseq[srt]
    tgt = cat["tgt"]
    # keep the target and the first ctx_len - 1 other cells of each sequence
    other = np.cumsum(~tgt) - 1
    first = np.searchsorted(cseq, cseq, side="left")
    other_rank = other - np.where(first > 0, other[np.maximum(first - 1, 0)], -1) - 1
    keep = tgt | (other_rank < ctx_len - 1)
    cat = {k: v[keep] for k, v in cat.items()}
    cseq, tgt = cseq[keep], tgt[keep]
    pos = np.arange(len(cseq)) - np.searchsorted(cseq, cseq, side="left")
    flat = positions[cseq] * ctx_len + pos
    sem, val, col = cat["sem"], cat["val"], cat["col"]

    def put(name: str, values: np.ndarray) -> None:
        arr = out[name]
        arr.reshape(-1, *arr.shape[2:])[flat] = values.reshape(len(flat), *arr.shape[2:])

    put("node_idxs", cat["node"])
    put("f2p_nbr_idxs", cat["par"])
    put("table_name_idxs", cat["tab"])
    put("col_name_idxs", col)
    put("sem_types", sem)
    for name, kind in (
        ("number_values", SEM_NUMBER),
        ("datetime_values", SEM_DATETIME),
        ("boolean_values", SEM_BOOLEAN),
    ):
        put(name, np.where((sem == kind) & ~tgt, val, 0.0).astype(np.float32))
    put("class_value_idxs", np.where(tgt, -1, cat["cls"]))
    put("is_padding", np.zeros(len(flat), bool))
    put("timestamps", cat["ts"])
    put("is_task_nodes", col == target_col[cseq])
    put("is_targets", tgt)
    put("masks", tgt)
    tb = positions[cseq[tgt]]
    out["target_values"][tb] = np.where(
        sem[tgt] == SEM_TEXT, cat["cls"][tgt].astype(np.float32), cat["raw"][tgt]
    )
    out["task_idxs"][positions] = seeds.task_idx
    out["db_idxs"][positions] = db_idx
    seed_offsets = np.array([layout.tables[t].node_offset for t in seeds.tab.tolist()], np.int64)
    out["seed_node_idxs"][positions] = seeds.row + seed_offsets


class RustlerSampler(DbSampler):
    """Contexts of one database under the reference sampler's rules (module doc).

    Opening reads every table once (normalization statistics, link arrays);
    DataLoader workers rebuild the link arrays in their own process."""

    def __init__(self, db: Database, ctx_len: int, max_width: int) -> None:
        super().__init__(db, ctx_len, max_width)
        raws = self._read_tables()
        self.layout = build_layout(db.schema, rustler_stats(self.layout, raws))
        self._graph: Graph | None = build_graph(self.layout, raws)

    def __getstate__(self) -> dict[str, Any]:
        return {**super().__getstate__(), "_graph": None}

    def _read_tables(self) -> list[pa.Table]:
        con = self.db.connection()
        with self.db.engine.driver_errors():
            return [
                self.dialect.run(con, fetch_sql(self.dialect, tl, all_rows=True))
                for tl in self.layout.tables
            ]

    @property
    def graph(self) -> Graph:
        if self._graph is None:
            self._graph = build_graph(self.layout, self._read_tables())
        return self._graph

    @property
    def cells(self) -> np.ndarray:
        return self.graph.cells_np

    def walk(self, seeds: SeedBatch) -> WalkResult:
        return rustler_walk(self.graph, self.layout, seeds, self.ctx_len, self.max_width)

    def sample_into(
        self, out: dict[str, np.ndarray], positions: np.ndarray, seeds: SeedBatch, db_idx: int
    ) -> None:
        walk = self.walk(seeds)
        with self.db.engine.driver_errors():
            contents = self.contents(walk)
        assemble_rustler(out, positions, self.layout, walk, contents, seeds, db_idx)
