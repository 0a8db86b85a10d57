"""The SQL context sampler against independent implementations, on DuckDB, PostgreSQL
and SQLite.

* same row sets as a plain-Python closure (no width cap, no budget);
* identical batches to the in-memory reference sampler (width cap and budget on);
* identical batches on DuckDB and PostgreSQL for the same data (and on DuckDB
  and SQLite for the same generated database);
* leakage: no cell later than its seed's as-of time, the target masked and never
  visible elsewhere, children per row within ``max_width``.
"""

from __future__ import annotations

import numpy as np
import pytest
from loader_fixtures import (
    assert_width_cap,
    build_postgres,
    generate_db,
    reachable_rows,
    seed_batch,
)
from standins.memory_walk import MemorySampler

from plurel_sql.dialects.loader_sql import NO_TIME
from plurel_sql.loader import open_database
from plurel_sql.loader.source import ContextSource


@pytest.fixture(scope="module")
def hand_pg(pg_url: str) -> str:
    return build_postgres(pg_url, "loader_hand", seed=3)


@pytest.fixture(scope="module")
def gen_duck(tmp_path_factory) -> str:
    return generate_db(f"duckdb:///{tmp_path_factory.mktemp('gen') / 'gen.duckdb'}", seed=6)


@pytest.fixture(scope="module")
def gen_pg(pg_url: str) -> str:
    sep = "&" if "?" in pg_url else "?"
    return generate_db(f"{pg_url}{sep}schema=loader_gen", seed=6)


@pytest.fixture(scope="module")
def gen_sqlite(tmp_path_factory) -> str:
    return generate_db(f"sqlite:///{tmp_path_factory.mktemp('gen') / 'gen.sqlite'}", seed=6)


@pytest.fixture(params=["hand_duck", "hand_pg", "gen_duck", "gen_pg", "gen_sqlite"])
def url(request) -> str:
    return request.getfixturevalue(request.param)


def _all_batches(src: ContextSource, epoch: int = 0, limit: int | None = None):
    for b in range(src.num_batches if limit is None else min(limit, src.num_batches)):
        yield b, src.batch(epoch, b)


def test_sql_rows_equal_plain_python_closure(url: str) -> None:
    """Without width cap and budget the walk reaches exactly the time-valid closure."""
    src = ContextSource(url, split="val", ctx_len=10**6, max_width=10**6, batch_size=8, seed=1)
    sampler = src.samplers[0]
    idx = src.batch_items(0, 0)
    seeds = src.seeds(0, idx)
    walk = sampler.walk(seed_batch(src, 0, idx))
    names = [t.name for t in sampler.layout.tables]
    for s in range(len(idx)):
        got = {(names[t], r) for t, r in walk.rows_of(s)}
        want = reachable_rows(url, names[seeds.tab[s]], int(seeds.row[s]), int(seeds.asof[s]))
        assert got == want


@pytest.mark.parametrize("split", ["train", "test"])
def test_sql_batches_equal_in_memory_reference(url: str, split: str) -> None:
    kw = dict(split=split, ctx_len=96, max_width=3, batch_size=16, seed=7)
    sql, mem = ContextSource(url, **kw), ContextSource(url, sampler=MemorySampler, **kw)
    for b, got in _all_batches(sql, epoch=2, limit=6):
        want = mem.batch(2, b)
        for k in want:
            np.testing.assert_array_equal(got[k], want[k], err_msg=k)


def test_duckdb_and_postgresql_batches_identical(hand_duck: str, hand_pg: str) -> None:
    kw = dict(ctx_len=128, max_width=4, batch_size=16, seed=3)
    a, b = ContextSource(hand_duck, **kw), ContextSource(hand_pg, **kw)
    assert a.num_batches == b.num_batches
    for i, got in _all_batches(a, limit=5):
        want = b.batch(0, i)
        for k in want:
            np.testing.assert_array_equal(got[k], want[k], err_msg=k)


@pytest.mark.parametrize("split", ["train", "val", "test"])
def test_no_leakage(url: str, split: str) -> None:
    max_width = 2
    src = ContextSource(url, split=split, ctx_len=256, max_width=max_width, batch_size=32, seed=11)
    db = open_database(url)
    layout = src.samplers[0].layout
    checked = 0
    for b, batch in _all_batches(src, limit=3):
        seeds = src.seeds(0, src.batch_items(0, b))
        for i in range(len(seeds)):
            live = ~batch["is_padding"][i]
            ts = batch["timestamps"][i][live]
            assert np.all((ts == NO_TIME) | (ts <= seeds.asof[i])), "a cell from the future"
            if split != "train":  # timed seeds only: nothing after the seed itself
                assert seeds.asof[i] >= db.val_cutoff
            # the target cell: exactly one, masked, value blanked, nowhere else visible
            seed_node = batch["seed_node_idxs"][i]
            _, task = src.task_list[batch["task_idxs"][i]]
            col = layout.table(task.table).cell(task.column).col_idx
            same = live & (batch["node_idxs"][i] == seed_node) & (batch["col_name_idxs"][i] == col)
            assert same.sum() == 1
            p = int(np.nonzero(same)[0][0])
            assert batch["is_targets"][i, p] and batch["masks"][i, p]
            assert batch["is_targets"][i].sum() == 1
            assert batch["number_values"][i, p, 0] == 0 and batch["boolean_values"][i, p, 0] == 0
            assert batch["class_value_idxs"][i, p] == -1
            checked += 1
    assert checked > 0


@pytest.mark.slow
def test_width_cap_binds_and_holds(url: str) -> None:
    max_width = 2
    src = ContextSource(url, ctx_len=10**5, max_width=max_width, batch_size=64, seed=0)
    wide = ContextSource(url, ctx_len=10**5, max_width=10**6, batch_size=64, seed=0)
    assert_width_cap(src, wide, max_width, batches=4)


def test_duckdb_and_sqlite_batches_agree(gen_duck: str, gen_sqlite: str) -> None:
    kw = dict(split="test", ctx_len=256, max_width=4, batch_size=16, seed=3)
    a, b = ContextSource(gen_duck, **kw), ContextSource(gen_sqlite, **kw)
    for i, got in _all_batches(a, limit=3):
        want = b.batch(0, i)
        for k in want:  # floats: statistics computed by different engines
            np.testing.assert_allclose(got[k], want[k], rtol=1e-5, atol=1e-5, err_msg=k)
