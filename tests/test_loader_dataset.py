"""ContextDataset: determinism per (seed, epoch), sharding over workers and ranks,
many databases (DuckDB and PostgreSQL) in one dataset."""

from __future__ import annotations

from collections import Counter

import pytest
import torch
from loader_fixtures import build_duckdb, build_postgres, small_schema
from standins.memory_walk import MemorySampler
from torch.utils.data import DataLoader

from plurel_sql.loader import ContextDataset

KW = dict(ctx_len=32, max_width=4, batch_size=32, seed=5)


@pytest.fixture(scope="module")
def duck(tmp_path_factory) -> str:
    return build_duckdb(str(tmp_path_factory.mktemp("ds") / "a.duckdb"), seed=1)


@pytest.fixture(scope="module")
def duck2(tmp_path_factory) -> str:
    return build_duckdb(str(tmp_path_factory.mktemp("ds") / "b.duckdb"), small_schema(), seed=2)


@pytest.fixture(scope="module")
def pg(pg_url: str) -> str:
    return build_postgres(pg_url, "loader_ds", seed=4)


def _ids(batches) -> list[tuple[int, int, int]]:
    out = []
    for b in batches:
        n = len(b["task_idxs"])
        out += list(
            zip(
                b["db_idxs"].tolist(),
                b["task_idxs"].tolist(),
                b["seed_node_idxs"].tolist(),
                strict=True,
            )
        )
        assert n <= KW["batch_size"]
    return out


def _expected(ds: ContextDataset) -> Counter:
    it, src = ds.source.items, ds.source
    offsets = {
        (d, k): src.samplers[d].layout.table(t.table).node_offset
        for k, (d, t) in enumerate(src.task_list)
    }
    return Counter(
        (int(d), int(k), int(r) + offsets[(int(d), int(k))])
        for d, k, r in zip(it.db, it.task, it.row, strict=True)
    )


def _same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_batches_are_tensors_of_documented_shapes(duck: str) -> None:
    ds = ContextDataset(duck, **KW)
    batch = next(iter(ds))
    b, length = KW["batch_size"], KW["ctx_len"]
    assert batch["node_idxs"].shape == (b, length)
    assert batch["f2p_nbr_idxs"].shape == (b, length, 5)
    for k in ("number_values", "datetime_values", "boolean_values"):
        assert batch[k].shape == (b, length, 1) and batch[k].dtype == torch.float32
    for k in ("masks", "is_targets", "is_task_nodes", "is_padding"):
        assert batch[k].dtype == torch.bool
    assert batch["timestamps"].dtype == torch.int64
    assert batch["target_values"].shape == (b,) and batch["task_idxs"].shape == (b,)
    assert (batch["is_targets"].sum(1) == 1).all()


def test_vocabulary_and_size(duck: str) -> None:
    ds = ContextDataset(duck, **KW)
    assert ds.num_seed_rows == sum(_expected(ds).values()) > 0
    names = ds.column_names[0]
    assert len(names) == len(set(names)) and ("orders", "amount") in names
    batch = next(iter(ds))
    used = batch["col_name_idxs"][~batch["is_padding"]]
    assert int(used.max()) < len(names)


def test_same_seed_and_epoch_give_identical_batches(duck: str) -> None:
    a, b = ContextDataset(duck, **KW), ContextDataset(duck, **KW)
    for x, y in zip(a, b, strict=True):
        assert _same(x, y)


def test_epochs_differ_and_repeat(duck: str) -> None:
    ds = ContextDataset(duck, **KW)
    e0 = list(ds)
    ds.set_epoch(1)
    e1 = list(ds)
    ds.set_epoch(0)
    again = list(ds)
    assert all(_same(x, y) for x, y in zip(e0, again, strict=True))
    assert not all(_same(x, y) for x, y in zip(e0, e1, strict=True))
    assert Counter(_ids(e0)) == Counter(_ids(e1)) == _expected(ds)


def test_two_workers_yield_every_seed_row_exactly_once(duck: str) -> None:
    ds = ContextDataset(duck, **KW)
    ds.set_epoch(3)
    single = list(ds)
    loader = DataLoader(ds, batch_size=None, num_workers=2)
    multi = list(loader)
    assert Counter(_ids(multi)) == _expected(ds)
    assert len(multi) == len(single) == len(ds)
    # the same batches as in one process, whatever the worker count
    key = lambda b: tuple(b["seed_node_idxs"].tolist()) + tuple(b["task_idxs"].tolist())  # noqa: E731
    by_key = {key(b): b for b in single}
    assert all(_same(b, by_key[key(b)]) for b in multi)


def test_ranks_partition_the_epoch(duck: str) -> None:
    parts = [ContextDataset(duck, rank=r, world_size=3, **KW) for r in range(3)]
    seen = Counter()
    for p in parts:
        seen.update(_ids(list(p)))
    assert seen == _expected(parts[0])
    assert sum(len(p) for p in parts) == parts[0].source.num_batches


def test_many_databases_mixed_engines(duck: str, duck2: str, pg: str) -> None:
    ds = ContextDataset([duck, duck2, pg], tasks=["orders.amount", "users.tier"], **KW)
    assert {d for d, _ in ds.task_list} == {0, 1, 2}
    assert {t.name for _, t in ds.task_list} == {"orders.amount", "users.tier"}
    loader = DataLoader(ds, batch_size=None, num_workers=2)
    batches = list(loader)
    assert Counter(_ids(batches)) == _expected(ds)
    mixed = [set(b["db_idxs"].tolist()) for b in batches]
    assert any(len(m) > 1 for m in mixed), "batches should mix databases"
    # every sequence is labelled with a task of its own database
    for b in batches:
        for d, k in zip(b["db_idxs"].tolist(), b["task_idxs"].tolist(), strict=True):
            assert ds.task_list[k][0] == d
    cls = [
        b["target_values"][
            [ds.task_list[k][1].kind == "classification" for k in b["task_idxs"].tolist()]
        ]
        for b in batches
    ]
    labels = torch.cat(cls)
    assert torch.all(labels == labels.round()) and labels.min() >= 0


def test_memory_engine_matches_sql_in_dataset(duck: str) -> None:
    a = ContextDataset(duck, **KW)
    b = ContextDataset(duck, sampler=MemorySampler, **KW)
    for x, y in zip(a, b, strict=True):
        assert _same(x, y)


def test_workers_after_main_process_sampling_keep_parent_connection(pg: str) -> None:
    """Forked workers must not close the PostgreSQL connection they inherit."""
    ds = ContextDataset(pg, **KW)
    first = next(iter(ds))  # opens a connection in this process
    list(DataLoader(ds, batch_size=None, num_workers=2))
    again = next(iter(ds))  # the parent's connection still works
    assert _same(first, again)
