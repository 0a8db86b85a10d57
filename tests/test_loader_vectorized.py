"""The vectorized in-memory sampler (tests/standins/numpy_walk.py) against the SQL
sampler (DuckDB) and the per-sequence reference (tests/standins/memory_walk.py).

* identical batches to both on hand-built and generated databases, train and
  test splits, with a width cap that binds and a cell budget that cuts;
* identical walks (rows, order, depths) to the SQL walk for whole prefetch
  groups of sequences;
* the per-group top-n selection against a brute-force loop;
* timed parents and rows linked twice to the same parent (two foreign keys).
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from loader_fixtures import assert_width_cap, build_duckdb, generate_db, seed_batch, small_schema
from standins.memory_walk import MemorySampler
from standins.numpy_walk import NumpySampler, top_children

from plurel_sql.loader.source import ContextSource
from plurel_sql.schema.ir import Schema, simple_table, value_column


def pairs_schema() -> Schema:
    """Timed parents and a child table with two keys to the same parent table."""
    return Schema(
        tables=[
            simple_table("users", "entity", 40, "row_idx", [], [value_column("score", "numeric")]),
            simple_table(
                "accounts",
                "activity",
                80,
                "row_idx",
                [("owner", "users")],
                [value_column("kind", "categorical", labels=["a", "b", "c"], num_categories=3)],
                time_column="opened",
            ),
            simple_table(
                "transfers",
                "activity",
                500,
                "row_idx",
                [("sender", "accounts"), ("receiver", "accounts")],
                [value_column("amount", "numeric"), value_column("flag", "boolean")],
                time_column="date",
            ),
        ],
        min_date="2000-01-01",
        max_date="2010-01-01",
        val_cutoff="2008-01-01",
        test_cutoff="2009-01-01",
    )


@pytest.fixture(scope="module")
def hand_big(tmp_path_factory) -> str:
    path = str(tmp_path_factory.mktemp("vec") / "big.duckdb")
    return build_duckdb(path, schema=small_schema(scale=3), seed=8)


@pytest.fixture(scope="module")
def pairs(tmp_path_factory) -> str:
    path = str(tmp_path_factory.mktemp("vec") / "pairs.duckdb")
    return build_duckdb(path, schema=pairs_schema(), seed=4)


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> str:
    return generate_db(f"duckdb:///{tmp_path_factory.mktemp('vec') / 'gen.duckdb'}", seed=6)


@pytest.fixture(params=["hand_duck", "hand_big", "pairs", "generated"])
def url(request) -> str:
    return request.getfixturevalue(request.param)


def _assert_same(got: dict[str, np.ndarray], want: dict[str, np.ndarray], what: str) -> None:
    assert got.keys() == want.keys()
    for k in want:
        np.testing.assert_array_equal(got[k], want[k], err_msg=f"{what}: {k}")


@pytest.mark.parametrize(
    ("split", "ctx_len", "max_width"), [("train", 96, 3), ("test", 256, 2), ("train", 40, 1)]
)
def test_batches_equal_sql_and_memory(url: str, split: str, ctx_len: int, max_width: int) -> None:
    kw = dict(split=split, ctx_len=ctx_len, max_width=max_width, batch_size=16, seed=7)
    vec = ContextSource(url, sampler=NumpySampler, **kw)
    sql = ContextSource(url, **kw)
    mem = ContextSource(url, sampler=MemorySampler, **kw)
    drawn = min(3, vec.num_batches)
    assert drawn > 0, "the split has no batch to compare"
    for b in range(drawn):
        got = vec.batch(1, b)
        assert got["is_padding"].size and not got["is_padding"].all()
        _assert_same(got, sql.batch(1, b), "numpy vs duckdb")
        _assert_same(got, mem.batch(1, b), "numpy vs memory")


def test_whole_groups_walk_like_sql(url: str) -> None:
    """One walk over a few hundred sequences: same rows, order and depths as SQL."""
    kw = dict(ctx_len=512, max_width=4, batch_size=256, seed=2)
    vec, sql = ContextSource(url, sampler=NumpySampler, **kw), ContextSource(url, **kw)
    for epoch in (0, 3):
        sb = seed_batch(vec, epoch, vec.batch_items(epoch, 0))
        assert len(sb) > 0
        got, want = vec.samplers[0].walk(sb), sql.samplers[0].walk(sb)
        assert len(got.seq) > len(sb)  # the walk went beyond the seed rows
        for field in ("seq", "tab", "row", "depth"):
            np.testing.assert_array_equal(getattr(got, field), getattr(want, field), field)


def test_iter_batches_equal_sql_with_prefetch(generated: str) -> None:
    kw = dict(ctx_len=1024, max_width=16, batch_size=32, seed=5, prefetch=4)
    vec, sql = ContextSource(generated, sampler=NumpySampler, **kw), ContextSource(generated, **kw)
    drawn = 0
    for i, (got, want) in enumerate(zip(vec.iter_batches(0), sql.iter_batches(0), strict=True)):
        _assert_same(got, want, f"batch {i}")
        drawn += 1
        if i == 7:
            break
    assert drawn == min(8, vec.num_batches) and drawn > 4, drawn  # crosses a prefetch group


def test_width_cap_binds(url: str) -> None:
    max_width = 2
    kw = dict(ctx_len=10**5, batch_size=64, sampler=NumpySampler)
    capped = ContextSource(url, max_width=max_width, **kw)
    wide = ContextSource(url, max_width=10**6, **kw)
    assert_width_cap(capped, wide, max_width, batches=3)


def test_top_children_matches_brute_force() -> None:
    rng = np.random.default_rng(0)
    owner = np.sort(rng.integers(0, 30, 600))
    node = rng.integers(0, 50, 600)  # repeated nodes within an owner: linked twice
    h = rng.integers(0, 20, 600)  # ties in the hash: broken by node
    for width in (1, 3, 25, 1000):
        keep = top_children(owner, node, h, 30, width)
        for g in range(30):
            idx = np.nonzero(owner == g)[0]
            ranked = sorted(idx.tolist(), key=lambda i: (h[i], node[i]))[:width]
            want = sorted((h[i], node[i]) for i in ranked)
            assert sorted((h[i], node[i]) for i in idx[keep[idx]]) == want


def test_pickles_without_index(hand_duck: str) -> None:
    src = ContextSource(hand_duck, sampler=NumpySampler, ctx_len=64, max_width=4, batch_size=8)
    before = src.batch(0, 0)
    sampler = pickle.loads(pickle.dumps(src.samplers[0]))
    assert sampler._vec is None and sampler._mem is None
    assert sampler.db.engine._con is None  # connections never travel
    src.samplers[0] = sampler  # the batcher holds this same list
    _assert_same(src.batch(0, 0), before, "after pickling")
