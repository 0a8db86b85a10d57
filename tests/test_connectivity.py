"""Stage 2: the hierarchical block model assigns every child row one parent row."""

from __future__ import annotations

import numpy as np
import pytest

from plurel_sql.config import ConnectivityParams
from plurel_sql.generator.connectivity import assign_parents, sample_block_model


@pytest.mark.parametrize("seed", range(20))
def test_parents_in_range_and_chunking_does_not_matter(seed: int) -> None:
    rng = np.random.default_rng(seed)
    parent_rows, child_rows = int(rng.integers(1, 300)), int(rng.integers(1, 3000))
    model = sample_block_model(ConnectivityParams(), parent_rows, child_rows, rng)
    whole = assign_parents(model, 0, child_rows, np.random.default_rng(99))
    assert whole.dtype == np.int64 and len(whole) == child_rows
    assert whole.min() >= 0 and whole.max() < parent_rows
    # rows [a, b) drawn alone with the same stream give the same prefix
    half = child_rows // 2
    assert np.array_equal(assign_parents(model, 0, half, np.random.default_rng(99)), whole[:half])


def test_block_structure_gives_locality() -> None:
    """With one level of 3 x 3 clusters and a strong diagonal, child rows of block i
    mostly point at parent block i (contiguous blocks => temporal locality)."""
    params = ConnectivityParams(levels=[1, 1], clusters_per_level=[3, 3])
    model = sample_block_model(params, 900, 9000, np.random.default_rng(0))
    parents = assign_parents(model, 0, 9000, np.random.default_rng(1))
    child_block = np.arange(9000) // 3000
    parent_block = parents // 300
    assert (child_block == parent_block).mean() > 0.95


def test_single_cluster_is_uniform() -> None:
    params = ConnectivityParams(levels=[1, 1], clusters_per_level=[1, 1])
    model = sample_block_model(params, 10, 100_000, np.random.default_rng(0))
    counts = np.bincount(assign_parents(model, 0, 100_000, np.random.default_rng(2)), minlength=10)
    assert counts.min() > 9_000 and counts.max() < 11_000


def test_linear_time_on_large_tables() -> None:
    """20,000 x 20,000 is a handful of block lookups, never a dense row matrix."""
    model = sample_block_model(ConnectivityParams(), 20_000, 20_000, np.random.default_rng(5))
    assert model.block_cdf.size <= 243 * 243
    parents = assign_parents(model, 0, 20_000, np.random.default_rng(6))
    assert parents.max() < 20_000
