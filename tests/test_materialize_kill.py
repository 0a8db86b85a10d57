"""SIGKILL a ``plurel-sql generate`` subprocess at several points of the load: the
target must hold either nothing or the complete previous database, and the next run
must succeed (DuckDB and PostgreSQL)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from plurel_sql.config import Config
from plurel_sql.dialects import create_engine
from plurel_sql.materialize import read_meta, verify_database

pytestmark = pytest.mark.slow  # each test kills a dozen subprocesses mid-load

KILL_DATABASE = {
    "num_tables": [6, 6],
    "entity_rows": [200, 400],
    "activity_rows": [800, 1500],
    "feature_columns": [3, 6],
}
# (what to wait for on stderr, how many such lines) before SIGKILL
KILL_POINTS = [("table ", 1), ("table ", 3), ("finalizing", 1), ("committing", 1)]


@pytest.fixture(scope="module")
def kill_config_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("kill") / "kill.toml"
    path.write_text(Config().override(database=KILL_DATABASE).to_toml())
    return path


def run_generate(url: str, config: Path, seed: int, *extra: str) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "plurel_sql", "generate", "--seed", str(seed), "--url", url,
           "--config", str(config), "--chunk-rows", "16", *extra]  # fmt: skip
    return subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)


def kill_at(proc: subprocess.Popen, marker: str, count: int) -> bool:
    """SIGKILL ``proc`` once ``count`` stderr lines containing ``marker`` appeared;
    False if it finished first."""
    seen = 0
    for line in proc.stderr:
        if marker in line:
            seen += 1
            if seen >= count:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)
                return True
    proc.wait(timeout=30)
    return False


def tables_in(url: str) -> set[str]:
    dialect = create_engine(url).dialect
    if dialect.url.path is not None and not Path(dialect.url.path).exists():
        return set()
    con = dialect.connect(read_only=True)
    try:
        return dialect.list_tables(con)
    finally:
        con.close()


def check_kills(url: str, config: Path) -> None:
    # 1. killed first generation: nothing is left
    assert kill_at(run_generate(url, config, 1), "table ", 2)
    assert tables_in(url) == set()
    # 2. a complete database, then killed replacements at several points
    first = run_generate(url, config, 1)
    _, err = first.communicate(timeout=240)
    assert first.returncode == 0, err
    before = read_meta(url)
    for marker, count in KILL_POINTS:
        killed = kill_at(run_generate(url, config, 2, "--replace"), marker, count)
        assert killed, f"generation finished before '{marker}' x{count}"
        meta = read_meta(url)
        if meta["seed"] == 2:  # killed after the commit point: the new database is whole
            assert marker == "committing"
        else:
            assert meta["checksums"] == before["checksums"]
        report = verify_database(url)
        assert report.ok, (marker, report.problems)
        assert tables_in(url) == set(meta["row_counts"]) | {"plurel_meta"}
    # 3. the next run succeeds
    rerun = run_generate(url, config, 2, "--replace")
    _, err = rerun.communicate(timeout=240)
    assert rerun.returncode == 0, err
    assert read_meta(url)["seed"] == 2 and verify_database(url).ok


def test_sigkill_duckdb(tmp_path, kill_config_file):
    url = f"duckdb:///{tmp_path / 'killed.duckdb'}"
    check_kills(url, kill_config_file)
    # the empty write lock stays beside the database on purpose (docs/materialize.md)
    kept = {"killed.duckdb", "killed.duckdb.lock"}
    leftovers = [p.name for p in tmp_path.iterdir() if p.name not in kept]
    assert leftovers == [], "temporary files of killed runs are cleaned by the next run"


@pytest.mark.postgres
def test_sigkill_postgres(pg_schema_url, kill_config_file):
    check_kills(pg_schema_url, kill_config_file)
