"""``sampler="rustler"`` against a plain re-implementation of the reference's rules,
and context fill / future rows for both samplers.

* every rustler-mode context equals the oracle's (tests/standins/rustler_oracle.py):
  the same rows and cells in the same order, the same values (z-scored numbers and
  booleans with the sample std, one datetime scale), the same target -- on a
  hand-built database (NULLs, a table with two foreign keys, timed and untimed
  seeds) and on generated ones, train and val splits, several loader seeds, with
  a width cap that binds;
* fill: ours holds exactly min(ctx_len, reachable non-NULL cells) when the cap
  does not bind, and both samplers fill >= 95 % of ctx_len on average where
  enough cells are reachable;
* no future row: no cell of a context has a time after the seed's (timed seeds)
  or, for seeds without time, after the split's end (ours) / any time (rustler);
* wrap-around: the last batch is full size, its repeats marked.
"""

from __future__ import annotations

import numpy as np
import pytest
from loader_fixtures import build_duckdb, generate_db, seed_batch
from standins.rustler_oracle import RustlerOracle, closure_cells

from plurel_sql.dialects.loader_sql import NO_TIME
from plurel_sql.errors import PlurelError
from plurel_sql.loader.source import ContextSource

MEDIUM = {"num_tables": [5, 6], "entity_rows": [150, 250], "activity_rows": [800, 1200]}


@pytest.fixture(scope="module")
def hand(tmp_path_factory) -> str:
    return build_duckdb(str(tmp_path_factory.mktemp("hand") / "hand.duckdb"), seed=3)


@pytest.fixture(scope="module")
def gen(tmp_path_factory) -> str:
    return generate_db(f"duckdb:///{tmp_path_factory.mktemp('gen') / 'g.duckdb'}", seed=6)


@pytest.fixture(scope="module")
def medium(tmp_path_factory) -> list[str]:
    d = tmp_path_factory.mktemp("medium")
    return [generate_db(f"duckdb:///{d / f'm{s}.duckdb'}", seed=s, database=MEDIUM) for s in (1, 2)]


def _seeds(src: ContextSource, b: int):
    sb = seed_batch(src, 0, src.batch_items(0, b))
    layout = src.samplers[0].layout
    for i in range(len(sb)):
        tl = layout.tables[int(sb.tab[i])]
        yield i, tl, tl.node_offset + int(sb.row[i]), sb


def _values(batch: dict, i: int) -> tuple[np.ndarray, np.ndarray]:
    m = ~batch["is_padding"][i]
    sem = batch["sem_types"][i][m]
    vals = np.select(
        [sem == 0, sem == 2, sem == 3],
        [
            batch["number_values"][i][m, 0],
            batch["datetime_values"][i][m, 0],
            batch["boolean_values"][i][m, 0],
        ],
        batch["class_value_idxs"][i][m],
    )
    return vals, batch["is_targets"][i][m]


def check_against_oracle(url: str, split: str, ctx_len: int, max_width: int, seed: int) -> int:
    src = ContextSource(url, None, split, ctx_len, max_width, 16, seed, sampler="rustler")
    oracle = RustlerOracle(url, src.dbs[0].schema)
    checked = 0
    for b in range(min(src.num_batches, 4)):
        batch = src.batch(0, b)
        for i, tl, seed_node, sb in _seeds(src, b):
            target_col = tl.cells[int(sb.target_slot[i])].col_idx
            want = oracle.context(seed_node, target_col, ctx_len, max_width, int(sb.salt[i]))
            m = ~batch["is_padding"][i]
            assert batch["node_idxs"][i][m].tolist() == [c.node for c, _ in want]
            assert batch["col_name_idxs"][i][m].tolist() == [c.col for c, _ in want]
            assert batch["sem_types"][i][m].tolist() == [c.sem for c, _ in want]
            vals, tgt = _values(batch, i)
            assert tgt.tolist() == [t for _, t in want]
            exp = np.array([c.value for c, _ in want])
            np.testing.assert_allclose(vals[~tgt], exp[~tgt], rtol=1e-5, atol=1e-5)
            target = [c for c, t in want if t][0]
            assert tgt.sum() == 1  # masked as in our format: blank value, no class
            assert vals[tgt][0] == (-1 if target.sem == 1 else 0)
            if target.sem == 3:  # a boolean target stays the class label 0/1
                assert batch["target_values"][i] in (0.0, 1.0)
            else:
                assert batch["target_values"][i] == pytest.approx(target.value, rel=1e-5, abs=1e-5)
            checked += 1
    src.close()
    return checked


@pytest.mark.parametrize("split", ["train", "val"])
@pytest.mark.parametrize("seed", [0, 7])
def test_rustler_matches_oracle_hand_built(hand, split, seed):
    assert check_against_oracle(hand, split, 48, 3, seed) >= 48


@pytest.mark.parametrize("ctx_len,max_width", [(96, 4), (512, 128)])
def test_rustler_matches_oracle_generated(gen, ctx_len, max_width):
    assert check_against_oracle(gen, "train", ctx_len, max_width, 1) >= 48


@pytest.mark.slow
def test_rustler_matches_oracle_medium(medium):
    for url in medium:
        for split in ("train", "test"):
            check_against_oracle(url, split, 256, 8, 3)


def _fill(url: str, sampler: str, ctx_len: int, max_width: int, seed: int, batches: int):
    """(cells used, reachable non-NULL cells, timed seed) per context."""
    src = ContextSource(url, None, "train", ctx_len, max_width, 32, seed, sampler=sampler)
    oracle = RustlerOracle(url, src.dbs[0].schema)
    out = []
    for b in range(min(batches, src.num_batches)):
        batch = src.batch(0, b)
        used = (~batch["is_padding"]).sum(axis=1)
        for i, tl, node, sb in _seeds(src, b):
            timed = tl.table.time_column is not None
            asof = int(sb.asof[i])
            if sampler == "plurel":
                ok = lambda n, a=asof: oracle.ts[n] is None or oracle.ts[n] <= a  # noqa: E731
            else:
                t0 = oracle.ts[node] if timed else None
                ok = lambda n, t0=t0: oracle.admitted(n, t0)  # noqa: E731
            out.append((int(used[i]), closure_cells(oracle, node, ok), timed))
    src.close()
    return np.array(out, dtype=np.int64)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_plurel_fill_is_min_of_ctx_len_and_reachable(hand, seed):
    """Without a binding width cap our walk fills exactly what is reachable, up to ctx_len."""
    f = _fill(hand, "plurel", 128, 10_000, seed, 4)
    np.testing.assert_array_equal(f[:, 0], np.minimum(128, f[:, 1]))


@pytest.mark.slow
@pytest.mark.parametrize("sampler", ["plurel", "rustler"])
def test_fill_at_least_95_percent_where_reachable(medium, sampler):
    """Average fill >= 95 % of ctx_len over contexts with >= ctx_len reachable
    cells, several databases and loader seeds (default width cap)."""
    ctx_len = 256
    rows = np.concatenate([_fill(u, sampler, ctx_len, 128, s, 4) for u in medium for s in (0, 5)])
    enough = rows[:, 1] >= ctx_len
    assert enough.sum() >= 100
    fill = rows[enough, 0] / ctx_len
    assert fill.mean() >= 0.95, (fill.mean(), np.percentile(fill, [1, 10, 50]))
    assert (rows[:, 0] <= np.minimum(ctx_len, rows[:, 1])).all()


@pytest.mark.parametrize("sampler", ["plurel", "rustler"])
@pytest.mark.parametrize("split", ["train", "val", "test"])
def test_no_future_row(hand, gen, sampler, split):
    for url in (hand, gen):
        src = ContextSource(url, None, split, 128, 8, 32, 4, sampler=sampler, untimed_split=split)
        layout = src.samplers[0].layout
        for b in range(min(src.num_batches, 6)):
            batch = src.batch(0, b)
            sb = seed_batch(src, 0, src.batch_items(0, b))
            for i in range(len(sb)):
                ts = batch["timestamps"][i][~batch["is_padding"][i]]
                timed = layout.tables[int(sb.tab[i])].table.time_column is not None
                if sampler == "rustler" and not timed:
                    assert (ts == NO_TIME).all()  # a seed without time sees no timed row
                else:
                    assert (ts[ts != NO_TIME] <= sb.asof[i]).all()
        src.close()


def test_wrap_fills_the_last_batch(hand):
    src = ContextSource(hand, ["orders.amount"], "train", 32, 4, 48, 0, sampler="rustler")
    n = len(src.items)
    assert n % 48 and src.wrap
    last = src.batch(0, src.num_batches - 1)
    assert len(last["task_idxs"]) == 48 and (last["task_idxs"] >= 0).all()
    assert int((~last["is_wrapped"]).sum()) == n - 48 * (src.num_batches - 1)
    seen = np.concatenate([src.batch_items(0, b) for b in range(src.num_batches)])
    assert set(seen.tolist()) == set(range(n)) and len(seen) == 48 * src.num_batches
    grouped = list(src.iter_batches(0))
    np.testing.assert_array_equal(grouped[-1]["node_idxs"], last["node_idxs"])
    plain = ContextSource(hand, ["orders.amount"], "train", 32, 4, 48, 0)
    assert not plain.wrap and "is_wrapped" not in plain.batch(0, 0)


def test_unknown_sampler_is_one_line(hand):
    with pytest.raises(PlurelError, match="unknown sampler 'rust'"):
        ContextSource(hand, None, "train", 32, 4, 8, 0, sampler="rust")
