"""Tasks, temporal splits, column statistics, bad inputs and the loader CLI."""

from __future__ import annotations

import hashlib
import math
from datetime import UTC
from pathlib import Path

import duckdb
import numpy as np
import pytest
from loader_fixtures import build_duckdb, generate_db, read_table

from plurel_sql.cli import main
from plurel_sql.column_stats import stat_columns
from plurel_sql.dialects import using_engine
from plurel_sql.errors import PlurelError
from plurel_sql.loader import ContextDataset, find_task, open_database, split_rows, tasks
from plurel_sql.loader import stats as loader_stats
from plurel_sql.loader.source import ContextSource
from plurel_sql.loader.stats import compute_table_stats
from plurel_sql.materialize.meta import read_meta


@pytest.fixture(scope="module")
def url(tmp_path_factory) -> str:
    return build_duckdb(str(tmp_path_factory.mktemp("tasks") / "t.duckdb"), seed=9)


def _secs(v) -> int:
    return int(v.replace(tzinfo=UTC).timestamp())


def test_tasks_kinds_and_split_sizes_match_plain_counts(url: str) -> None:
    db = open_database(url)
    found = {t.name: t for t in tasks(db)}
    expected_names = {f"{t.name}.{c.name}" for t in db.schema.tables for c in t.features}
    assert set(found) == expected_names
    for table in db.schema.tables:
        data = read_table(url, table.name)
        for c in table.features:
            task = found[f"{table.name}.{c.name}"]
            assert task.kind == ("regression" if c.kind == "numeric" else "classification")
            present = [v is not None for v in data[c.name]]
            if table.time_column is None:
                assert task.sizes == {"train": sum(present), "val": 0, "test": 0}
                continue
            ts = [_secs(v) for v in data[table.time_column]]
            want = {"train": 0, "val": 0, "test": 0}
            for ok, s in zip(present, ts, strict=True):
                if ok:
                    split = (
                        "train" if s < db.val_cutoff else "val" if s < db.test_cutoff else "test"
                    )
                    want[split] += 1
            assert task.sizes == want
            for split, n in want.items():
                rows, asof = split_rows(db, task, split)
                assert len(rows) == n
                assert np.array_equal(asof, np.array([ts[r] for r in rows]))


def test_untimed_rows_follow_untimed_split(url: str) -> None:
    db = open_database(url)
    t = find_task(tasks(db, untimed_split="val"), "users.tier")
    assert t.sizes["val"] == db.schema.table("users").num_rows and t.sizes["train"] == 0
    rows, asof = split_rows(db, t, "val", untimed_split="val")
    assert len(rows) == t.sizes["val"] and np.all(asof == db.test_cutoff - 1)
    assert len(split_rows(db, t, "train", untimed_split="none")[0]) == 0


def test_stats_without_stored_ones_are_computed_read_only(url: str) -> None:
    """The hand-built fixture stores no ``column_stats`` (like databases written by
    earlier versions): they are computed in memory and nothing is written."""
    path = Path(url.removeprefix("duckdb:///"))
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    db = open_database(url)
    db.close()
    assert "column_stats" not in db.meta
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    con = duckdb.connect(str(path), read_only=True)
    tables = {r for (r,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    con.close()
    assert "plurel_stats" not in tables
    assert set(db.stats) == {(t.name, c) for t in db.schema.tables for c in stat_columns(t)}
    ages = np.array([v for v in read_table(url, "users")["age"] if v is not None])
    mean, std = db.stats[("users", "age")]
    assert math.isclose(mean, ages.mean()) and math.isclose(std, ages.std())
    dates = np.array([_secs(v) for v in read_table(url, "orders")["date"]], dtype=float)
    mean, std = db.stats[("orders", "date")]
    assert math.isclose(mean, dates.mean()) and math.isclose(std, dates.std(), rel_tol=1e-6)


def test_stored_stats_match_the_engines_and_cost_no_query(tmp_path, monkeypatch) -> None:
    """A generated database carries its statistics: opening it runs no statistics
    query, and they equal what the engine computes from the stored rows."""
    url = generate_db(f"duckdb:///{tmp_path / 'gen.duckdb'}", seed=2)
    with using_engine(url) as engine:
        computed = {
            (t.name, c): v
            for t in read_meta(engine)["schema"].tables
            for c, v in compute_table_stats(engine.dialect, engine.connection(), t).items()
        }
    calls = []
    monkeypatch.setattr(loader_stats, "compute_table_stats", lambda *a: calls.append(a) or {})
    db = open_database(url)
    assert calls == [] and "column_stats" in db.meta
    assert db.stats.keys() == computed.keys() and len(computed) > 3
    for key, (mean, std) in db.stats.items():
        assert math.isclose(mean, computed[key][0], rel_tol=1e-9, abs_tol=1e-9), key
        assert math.isclose(std, computed[key][1], rel_tol=1e-6), key


def test_values_are_standardized_with_the_stats(url: str) -> None:
    src = ContextSource(url, ["users.age"], ctx_len=16, max_width=2, batch_size=64)
    batch = src.batch(0, 0)
    db = src.dbs[0]
    layout = src.samplers[0].layout
    ages = read_table(url, "users")["age"]
    mean, std = db.stats[("users", "age")]
    for i in range(len(batch["task_idxs"])):
        row = int(batch["seed_node_idxs"][i]) - layout.table("users").node_offset
        assert math.isclose(batch["target_values"][i], (ages[row] - mean) / std, rel_tol=1e-5)


# --- bad inputs: one-line PlurelError messages ----------------------------------


def _one_line(exc: pytest.ExceptionInfo) -> str:
    msg = str(exc.value)
    assert msg and "\n" not in msg
    return msg


def test_url_without_plurel_meta(tmp_path) -> None:
    path = tmp_path / "plain.duckdb"
    duckdb.connect(str(path)).execute("CREATE TABLE t (a INT)").close()
    with pytest.raises(PlurelError) as exc:
        open_database(f"duckdb:///{path}")
    assert "plurel_meta" in _one_line(exc)


def test_url_without_plurel_meta_postgres(pg_url: str) -> None:
    sep = "&" if "?" in pg_url else "?"
    with pytest.raises(PlurelError) as exc:
        open_database(f"{pg_url}{sep}schema=loader_nothing_here")
    assert "plurel_meta" in _one_line(exc)
    assert "pl-Secret" not in str(exc.value)


@pytest.mark.parametrize(
    "bad", ["nonsense", "mysql://u@h/db", "duckdb:////nonexistent/dir/x.duckdb"]
)
def test_bad_urls(bad: str) -> None:
    with pytest.raises(PlurelError) as exc:
        open_database(bad)
    _one_line(exc)


def test_unknown_task(url: str) -> None:
    with pytest.raises(PlurelError) as exc:
        ContextDataset(url, tasks=["users.nope"])
    assert "users.nope" in _one_line(exc)
    with pytest.raises(PlurelError):
        find_task(tasks(open_database(url)), "nope")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"ctx_len": 1},
        {"ctx_len": 0},
        {"max_width": 0},
        {"batch_size": 0},
        {"split": "holdout"},
        {"untimed_split": "sometimes"},
        {"rank": 3, "world_size": 2},
        {"rank": 0},
    ],
)
def test_bad_dataset_arguments(url: str, kwargs: dict) -> None:
    with pytest.raises(PlurelError) as exc:
        ContextDataset(url, **kwargs)
    _one_line(exc)


def test_empty_split_is_an_error(url: str) -> None:
    with pytest.raises(PlurelError) as exc:
        ContextDataset(url, tasks=["users.age"], split="test")
    assert "no seed rows" in _one_line(exc)


# --- CLI ------------------------------------------------------------------------


def test_cli_tasks(url: str, capsys) -> None:
    assert main(["tasks", url]) == 0
    out = capsys.readouterr().out
    assert "orders.amount" in out and "regression" in out and "classification" in out
    assert out.strip().splitlines()[-1].startswith("8 tasks")


def test_cli_sample(url: str, capsys) -> None:
    assert main(["sample", url, "--task", "orders.channel", "--n", "2", "--ctx-len", "64"]) == 0
    out = capsys.readouterr().out
    assert out.count("context ") == 2 and out.count("[MASK]") == 2
    assert "orders" in out and "users" in out and "row_idx" in out


@pytest.mark.parametrize(
    "argv",
    [
        ["sample", "URL", "--task", "nope.nope"],
        ["sample", "URL", "--task", "orders.amount", "--ctx-len", "1"],
        ["tasks", "duckdb:////nonexistent/x.duckdb"],
    ],
)
def test_cli_errors_are_one_line(url: str, argv: list[str], capsys) -> None:
    argv = [a.replace("URL", url) for a in argv]
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse validation
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "error" in err
