"""Plain re-implementation of the reference sampler's rules, for tests only.

An oracle for ``sampler="rustler"`` (``plurel_sql.loader.rustler``): written
from the rules in docs/loader.md, per row in Python over tables read with
``SELECT *`` (``loader_fixtures.read_table``), with its own statistics, cell
conversion, link lists and walk. Slow on purpose.

One thing is shared with the implementation: the random choices. The reference
draws from Rust's StdRng, which numpy cannot reproduce, so both take their
uniforms from the same keyed stream, ``stream(salt, Draw.LOADER, Draw.RUSTLER)``
(the oracle one scalar draw at a time, the implementation in blocks), one
uniform per pick from a pool of more than one row and one per step of the
first ``max_width`` steps of a Fisher-Yates shuffle of a child list that is too
long (here: a plain shuffle of a copied list).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from loader_fixtures import read_table

from plurel_sql.rng import Draw, stream
from plurel_sql.schema.ir import Schema

NUMBER, TEXT, DATETIME, BOOLEAN = 0, 1, 2, 3


@dataclass
class Cell:
    node: int
    col: int
    sem: int
    value: float  # z-scored number/boolean/datetime, or the class index of text


def _secs(v) -> int | None:
    if v is None:
        return None
    if isinstance(v, str):  # SQLite stores timestamps as text
        v = datetime.fromisoformat(v)
    if not isinstance(v, datetime):  # a DATE
        v = datetime(v.year, v.month, v.day)
    return math.floor(v.replace(tzinfo=UTC).timestamp())


def _scale(xs: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation, 1 where that is 0 or undefined."""
    if not xs:
        return 0.0, 1.0
    sd = statistics.stdev(xs) if len(xs) > 1 else 0.0
    return statistics.fmean(xs), (sd if sd > 1e-12 else 1.0)


class RustlerOracle:
    """Cells, links and times of a whole database, and the walk over them."""

    def __init__(self, url: str, schema: Schema) -> None:
        data = {t.name: read_table(url, t.name) for t in schema.tables}
        self.offset: dict[str, int] = {}
        n = 0
        for t in schema.tables:
            self.offset[t.name] = n
            n += len(data[t.name]["row_idx"])
        self.ts: dict[int, int | None] = {}
        self.cells: dict[int, list[Cell]] = {}
        self.parents: dict[int, list[int]] = {}
        children: dict[int, list[int]] = {}
        all_times = [
            s
            for t in schema.tables
            if t.time_column
            for s in map(_secs, data[t.name][t.time_column])
            if s is not None
        ]
        t_mean = statistics.fmean(all_times) if all_times else 0.0
        t_std = statistics.pstdev(all_times) if all_times else 1.0
        t_std = t_std if t_std > 1e-12 else 1.0
        col = 0
        for t in schema.tables:
            d, base = data[t.name], self.offset[t.name]
            rows = d["row_idx"]
            per_col = []
            for c in t.cell_columns:
                vals = d[c.name]
                if c.kind == "categorical":
                    labels = list(c.labels or ())
                    conv = [labels.index(v) if v in labels else None for v in vals]
                    per_col.append((col, TEXT, conv))
                else:
                    xs = [None if v is None else float(v) for v in vals]
                    mean, std = _scale([x for x in xs if x is not None])
                    sem = NUMBER if c.kind == "numeric" else BOOLEAN
                    per_col.append(
                        (col, sem, [None if x is None else (x - mean) / std for x in xs])
                    )
                col += 1
            times = [_secs(v) for v in d[t.time_column]] if t.time_column else [None] * len(rows)
            if t.time_column:
                conv = [None if s is None else (s - t_mean) / t_std for s in times]
                per_col.append((col, DATETIME, conv))
                col += 1
            for i, r in enumerate(rows):
                node = base + r
                self.ts[node] = times[i]
                self.cells[node] = [
                    Cell(node, c, sem, vals[i]) for c, sem, vals in per_col if vals[i] is not None
                ]
                self.parents[node] = []
            for fk in t.foreign_keys:
                for r, p in zip(rows, d[fk.column], strict=True):
                    if p is not None:
                        pn = self.offset[fk.parent] + p
                        self.parents[base + r].append(pn)
                        children.setdefault(pn, []).append(base + r)
        never = -(2**63)
        self.children = {
            p: sorted(kids, key=lambda k: (never if self.ts[k] is None else self.ts[k], k))
            for p, kids in children.items()
        }

    def admitted(self, node: int, seed_ts: int | None) -> bool:
        """Rows without time always; rows with time only for a seed with time, up
        to its time."""
        ts = self.ts[node]
        return ts is None or (seed_ts is not None and ts <= seed_ts)

    def walk(self, seed: int, ctx_len: int, max_width: int, salt: int) -> list[int]:
        """Nodes in the order the walk takes them (repeats included)."""
        g = stream(int(salt), Draw.LOADER, Draw.RUSTLER)
        seed_ts = self.ts[seed]
        stack: list[tuple[int, int]] = []
        pools: dict[int, list[int]] = {0: [seed]}
        depth_of: dict[int, int] = {}
        taken: list[int] = []
        count = 0
        while True:
            if stack:
                depth, node = stack.pop()
            else:
                open_depths = sorted(d for d, pool in pools.items() if pool)
                if not open_depths:
                    return taken
                depth = open_depths[0]
                pool = pools[depth]
                if len(pool) > 1:
                    r = int(g.random() * len(pool))
                    pool[r], pool[-1] = pool[-1], pool[r]
                node = pool.pop()
            if node in depth_of and depth_of[node] <= depth:
                continue
            count += len(self.cells[node])
            if count >= ctx_len:
                return taken or [node]  # the seed row stays even when it alone is too wide
            depth_of[node] = depth
            taken.append(node)
            for p in self.parents[node]:
                if self.admitted(p, seed_ts):
                    stack.append((depth + 1, p))
            kids = [k for k in self.children.get(node, []) if self.admitted(k, seed_ts)]
            if len(kids) > max_width:
                kids = list(kids)
                for i in range(max_width):
                    j = i + int(g.random() * (len(kids) - i))
                    kids[i], kids[j] = kids[j], kids[i]
                kids = kids[:max_width]
            pools.setdefault(depth + 1, []).extend(kids)

    def context(
        self, seed: int, target_col: int, ctx_len: int, max_width: int, salt: int
    ) -> list[tuple[Cell, bool]]:
        """(cell, is_target) of one context, in the order the batch holds them."""
        nodes: list[int] = []
        for n in self.walk(seed, ctx_len, max_width, salt):
            if n not in nodes:
                nodes.append(n)
        cells = [(c, c.node == seed and c.col == target_col) for n in nodes for c in self.cells[n]]
        cells.sort(key=lambda ct: ct[0].col)  # stable: walk order within a column
        out, others = [], 0
        for c, is_target in cells:
            if is_target:
                out.append((c, True))
            elif others < ctx_len - 1:
                out.append((c, False))
                others += 1
        return out


def closure_cells(oracle: RustlerOracle, seed: int, admitted: Callable[[int], bool]) -> int:
    """Non-NULL cells of every row reachable from ``seed`` through parents and
    children that ``admitted`` lets in (no width cap, no budget)."""
    seen = {seed}
    todo = [seed]
    while todo:
        node = todo.pop()
        for other in oracle.parents[node] + oracle.children.get(node, []):
            if other not in seen and admitted(other):
                seen.add(other)
                todo.append(other)
    return sum(len(oracle.cells[n]) for n in seen)
