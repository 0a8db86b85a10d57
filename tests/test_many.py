"""generate-many: one database per seed over worker processes, identical data."""

from __future__ import annotations

import subprocess
import sys

import pytest
from generator_helpers import small_config

from plurel_sql.errors import ConfigError
from plurel_sql.materialize.meta import read_meta
from plurel_sql.orchestrate.many import generate_many, parse_seeds, url_for


def test_same_data_whatever_the_worker_count(tmp_path) -> None:
    cfg = small_config()
    one = generate_many([0, 1, 2], f"duckdb:///{tmp_path}/a_{{seed}}.duckdb", cfg, workers=1)
    two = generate_many([0, 1, 2], f"duckdb:///{tmp_path}/b_{{seed}}.duckdb", cfg, workers=2)
    assert [r.error for r in one + two] == [None] * 6
    for seed in (0, 1, 2):
        a = read_meta(f"duckdb:///{tmp_path}/a_{seed}.duckdb")
        b = read_meta(f"duckdb:///{tmp_path}/b_{seed}.duckdb")
        assert a["checksums"] == b["checksums"]
        assert a["seed"] == b["seed"] == seed


def test_failures_are_reported_per_seed(tmp_path) -> None:
    (tmp_path / "taken_1.duckdb").write_text("not a database")
    results = generate_many([0, 1], f"duckdb:///{tmp_path}/taken_{{seed}}.duckdb", small_config())
    assert results[0].error is None
    assert results[1].error is not None and "\n" not in results[1].error


@pytest.mark.parametrize(
    ("text", "expected"), [("0-3", [0, 1, 2, 3]), ("5,1,1", [1, 5]), ("0-1,7", [0, 1, 7])]
)
def test_parse_seeds(text: str, expected: list[int]) -> None:
    assert parse_seeds(text) == expected


@pytest.mark.parametrize("text", ["", "a-b", "5-3", "-2", "1,,x"])
def test_bad_seeds_are_one_line_errors(text: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_seeds(text)
    assert "\n" not in str(info.value)


def test_template_needs_the_seed_field() -> None:
    with pytest.raises(ConfigError, match=r"\{seed\}"):
        url_for("duckdb:///same.duckdb", 3)


@pytest.mark.slow
def test_cli(tmp_path) -> None:
    config = tmp_path / "small.toml"
    config.write_text(small_config().to_toml())
    template = f"sqlite:///{tmp_path}/db_{{seed}}.sqlite"
    cmd = [sys.executable, "-m", "plurel_sql", "generate-many", "--seeds", "0-1"]
    ok = subprocess.run(
        [*cmd, "--url-template", template, "--config", str(config), "--workers", "2"],
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0, ok.stderr
    assert "2 done, 0 skipped, 0 failed" in ok.stderr
    assert (tmp_path / "db_0.sqlite").exists() and (tmp_path / "db_1.sqlite").exists()
    bad = subprocess.run(
        [*cmd, "--url-template", "duckdb:///x.duckdb"], capture_output=True, text=True
    )
    assert bad.returncode == 2 and "{seed}" in bad.stderr and "Traceback" not in bad.stderr
