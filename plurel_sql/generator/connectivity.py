"""Stage 2: foreign-key links drawn from a hierarchical stochastic block model (HSBM).

For one foreign key (child table C -> parent table P) the rows of each table are
cut into contiguous blocks, one per combination of clusters over the levels. The
probability that child row b points at parent row a is proportional to
``prod_l M_l[cluster_l(a), cluster_l(b)]``; since it depends on ``a`` only through
its block, we draw the parent *block* first (weight = block size x affinity) and
then a uniform row inside it. That is linear in rows and never materializes the
parent x child matrix the reference builds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from plurel_sql.config import ConnectivityParams
from plurel_sql.sampling import draw_float, draw_int

RNG_BLOCK_ROWS = 8192  # child rows per random stream; fixed so values never depend on chunking


@dataclass(frozen=True)
class BlockModel:
    """A sampled HSBM for one foreign key."""

    parent_rows: int
    child_rows: int
    parent_clusters: tuple[int, ...]  # clusters per level, parent side
    child_clusters: tuple[int, ...]
    block_cdf: np.ndarray  # (child blocks, parent blocks) cumulative P(parent block | child block)

    @property
    def parent_blocks(self) -> int:
        return int(np.prod(self.parent_clusters))

    @property
    def child_blocks(self) -> int:
        return int(np.prod(self.child_clusters))


def _block_bounds(rows: int, blocks: int) -> np.ndarray:
    """Start offsets of ``blocks`` contiguous, near-equal blocks of ``rows`` rows."""
    return (np.arange(blocks + 1, dtype=np.int64) * rows) // blocks


def _level_clusters(blocks: int, clusters: tuple[int, ...]) -> np.ndarray:
    """(levels, blocks): the cluster of every block at every level (mixed radix,
    the first level the coarsest)."""
    out = np.empty((len(clusters), blocks), dtype=np.int64)
    idx = np.arange(blocks)
    stride = blocks
    for level, k in enumerate(clusters):
        stride //= k
        out[level] = (idx // stride) % k
    return out


def sample_block_model(
    params: ConnectivityParams, parent_rows: int, child_rows: int, rng: np.random.Generator
) -> BlockModel:
    levels = draw_int(rng, params.levels)
    parent_k = tuple(draw_int(rng, params.clusters_per_level) for _ in range(levels))
    child_k = tuple(draw_int(rng, params.clusters_per_level) for _ in range(levels))
    parent_blocks, child_blocks = int(np.prod(parent_k)), int(np.prod(child_k))
    parent_cl = _level_clusters(parent_blocks, parent_k)
    child_cl = _level_clusters(child_blocks, child_k)
    log_w = np.zeros((child_blocks, parent_blocks))
    for level in range(levels):
        kp, kc = parent_k[level], child_k[level]
        matrix = np.array(
            [[draw_float(rng, params.background) for _ in range(kc)] for _ in range(kp)]
        )
        for i in range(max(kp, kc)):
            matrix[i % kp, i % kc] = params.affinity
        log_w += np.log(matrix[parent_cl[level][None, :], child_cl[level][:, None]])
    sizes = np.diff(_block_bounds(parent_rows, parent_blocks)).astype(np.float64)
    with np.errstate(divide="ignore"):
        log_w += np.log(sizes)[None, :]
    log_w -= log_w.max(axis=1, keepdims=True)
    weights = np.exp(log_w)
    cdf = np.cumsum(weights, axis=1)
    cdf /= cdf[:, -1:]
    return BlockModel(parent_rows, child_rows, parent_k, child_k, cdf)


def assign_parents(
    model: BlockModel, start: int, stop: int, rng: np.random.Generator
) -> np.ndarray:
    """Parent row of every child row in ``[start, stop)`` (int64), vectorized."""
    return parents_of(model, np.arange(start, stop, dtype=np.int64), rng)


def parents_of(model: BlockModel, rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Parent row of each child row in ``rows`` (any rows, e.g. ones to redraw)."""
    n = len(rows)
    child_bounds = _block_bounds(model.child_rows, model.child_blocks)
    parent_bounds = _block_bounds(model.parent_rows, model.parent_blocks)
    child_block = np.searchsorted(child_bounds, rows, side="right") - 1
    u = rng.random((n, 2))  # row-major: a prefix of rows consumes a prefix of the stream
    u_block, u_row = u[:, 0], u[:, 1]
    parent_block = np.empty(n, dtype=np.int64)
    for block in np.unique(child_block):
        sel = child_block == block
        parent_block[sel] = np.searchsorted(model.block_cdf[block], u_block[sel], side="right")
    parent_block = np.minimum(parent_block, model.parent_blocks - 1)
    lo = parent_bounds[parent_block]
    size = parent_bounds[parent_block + 1] - lo
    return lo + np.minimum((u_row * size).astype(np.int64), size - 1)
