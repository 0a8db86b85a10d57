"""Resumable fleets: reruns skip verified seeds, regenerate corrupt ones, --replace."""

from __future__ import annotations

import json

from generator_helpers import small_config

from plurel_sql.materialize.meta import read_meta
from plurel_sql.materialize.verify import verify_database
from plurel_sql.orchestrate.many import generate_many


def _statuses(results) -> list[str]:
    return [r.status for r in results]


def test_rerun_skips_corrupt_is_regenerated_replace_redoes(tmp_path) -> None:
    cfg = small_config()
    template = f"duckdb:///{tmp_path}/db_{{seed}}.duckdb"
    first = generate_many([0, 1, 2], template, cfg, workers=2)
    assert _statuses(first) == ["done"] * 3
    sums = {r.seed: r.checksums for r in first}
    ledger = tmp_path / "plurel_ledger.jsonl"
    lines = [json.loads(line) for line in ledger.read_text().splitlines()]
    assert {line["seed"] for line in lines} == {0, 1, 2}
    assert all(line["status"] == "done" and line["checksums"] for line in lines)

    again = generate_many([0, 1, 2], template, cfg, workers=2)
    assert _statuses(again) == ["skipped"] * 3

    (tmp_path / "db_1.duckdb").write_bytes(b"corrupt" * 100)
    healed = generate_many([0, 1, 2], template, cfg)
    assert _statuses(healed) == ["skipped", "done", "skipped"]
    assert verify_database(f"duckdb:///{tmp_path}/db_1.duckdb").ok
    assert read_meta(f"duckdb:///{tmp_path}/db_1.duckdb")["checksums"] == sums[1]

    forced = generate_many([0, 1, 2], template, cfg, replace=True)
    assert _statuses(forced) == ["done"] * 3
    assert {r.seed: r.checksums for r in forced} == sums


def test_a_database_without_ledger_is_adopted_after_verifying(tmp_path) -> None:
    cfg = small_config()
    template = f"sqlite:///{tmp_path}/db_{{seed}}.sqlite"
    generate_many([3], template, cfg)
    (tmp_path / "plurel_ledger.jsonl").unlink()
    assert _statuses(generate_many([3], template, cfg)) == ["skipped"]
    (tmp_path / "plurel_ledger.jsonl").unlink()
    other = small_config(entity_rows=[30, 40])
    result = generate_many([3], template, other)  # not ours, another config: no overwrite
    assert result[0].status == "failed" and "--replace" in result[0].error


def test_missing_ray_is_one_line(tmp_path, monkeypatch) -> None:
    import sys

    import pytest

    from plurel_sql.errors import ConfigError

    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(ConfigError, match=r"plurel-sql\[ray\]"):
        generate_many(
            [0], f"duckdb:///{tmp_path}/r_{{seed}}.duckdb", small_config(), executor="ray"
        )
