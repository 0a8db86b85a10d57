"""Shared test fixtures.

== PostgreSQL (materialization, issue 3) ==
``pg_url`` (session): a PostgreSQL URL for tests. When the environment variable
``PLUREL_TEST_PG_URL`` is set it is used as is; otherwise a throwaway PostgreSQL 15
is started from /usr/lib/postgresql/15/bin (as the unprivileged ``postgres`` user,
on a free port, fsync off, password authentication over TCP) and stopped at the end
of the session. Without binaries the PostgreSQL tests are skipped locally but FAIL
when ``CI=true``: they must never be skipped silently in CI.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

PG_BIN = Path(os.environ.get("PLUREL_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))
PG_TEST_PASSWORD = "pl-Secret-9x7"  # throwaway server only; tests assert it is never printed


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres(*cmd: str) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return list(cmd)


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"PostgreSQL tests cannot run in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A PostgreSQL URL with a password (see module docstring)."""
    given = os.environ.get("PLUREL_TEST_PG_URL")
    if given:
        yield given
        return
    if not (PG_BIN / "initdb").exists():
        _unavailable(f"no PostgreSQL binaries in {PG_BIN} and PLUREL_TEST_PG_URL unset")
    has_user = subprocess.run(["id", "postgres"], capture_output=True).returncode == 0
    if os.geteuid() == 0 and not has_user:
        subprocess.run(
            ["useradd", "--system", "--home", "/var/lib/postgresql", "postgres"], check=True
        )
    base = Path(tempfile.mkdtemp(prefix="plurel-pgtest-"))
    base.chmod(0o755)
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
    data, log, pwfile = base / "data", base / "log", base / "pw"
    pwfile.write_text(PG_TEST_PASSWORD + "\n")
    pwfile.chmod(0o644)
    port = _free_port()
    subprocess.run(
        _as_postgres(
            str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "--no-sync",
            "--auth-local=trust", "--auth-host=scram-sha-256", f"--pwfile={pwfile}",
        ),
        check=True,
        capture_output=True,
    )  # fmt: skip
    opts = (
        f"-p {port} -c listen_addresses=127.0.0.1 -k {base} -c fsync=off "
        "-c full_page_writes=off -c synchronous_commit=off"
    )
    started = subprocess.run(
        _as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-o", opts,
                     "start"),
        capture_output=True,
        text=True,
    )  # fmt: skip
    if started.returncode != 0:
        detail = log.read_text() if log.exists() else started.stderr
        pytest.fail(f"could not start PostgreSQL: {detail[-2000:]}")
    try:
        yield f"postgresql://postgres:{PG_TEST_PASSWORD}@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            _as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"),
            capture_output=True,
        )
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def drop_pg_schema(pg_url: str):
    """``drop_pg_schema(name)`` drops that schema of the test server, if it exists."""
    import psycopg

    from plurel_sql.dialects import create_engine

    dialect = create_engine(pg_url).dialect

    def drop(name: str) -> None:
        con = dialect.connect()
        try:
            with con.cursor() as cur:
                cur.execute(f"DROP SCHEMA IF EXISTS {dialect.quote(name)} CASCADE")
            con.commit()
        except psycopg.Error:
            pass
        finally:
            con.close()

    return drop


@pytest.fixture(scope="session")
def run_pg_ddl():
    """``run_pg_ddl(url, sql)`` runs a user's DDL in the URL's PostgreSQL schema
    (created if missing): the test plays the user (plurel-sql never runs DDL files)."""
    from plurel_sql.dialects import create_engine

    def run(url: str, sql: str) -> None:
        engine = create_engine(url)
        schema = engine.dialect.quote(engine.schema)
        con = engine.connect()
        try:
            with con.cursor() as cur:
                cur.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
                cur.execute(f"SET search_path TO {schema}")
                cur.execute(sql)
            con.commit()
        finally:
            con.close()

    return run


@pytest.fixture
def pg_schema_url(pg_url: str, drop_pg_schema) -> Iterator[str]:
    """``pg_url`` with a fresh ``?schema=`` (dropped afterwards), so tests never collide."""
    name = f"t_{uuid.uuid4().hex[:10]}"
    sep = "&" if "?" in pg_url else "?"
    yield f"{pg_url}{sep}schema={name}"
    drop_pg_schema(name)


SMALL_DATABASE = {
    "num_tables": [3, 5],
    "entity_rows": [50, 100],
    "activity_rows": [200, 400],
    "feature_columns": [3, 6],
}


@pytest.fixture(scope="session")
def small_config():
    """A validated Config producing small databases quickly (3-5 tables, <= 400 rows)."""
    from plurel_sql.config import Config

    return Config().override(database=SMALL_DATABASE).validate()


@pytest.fixture(scope="session")
def small_config_file(tmp_path_factory, small_config) -> Path:
    """``small_config`` as a TOML file for the CLI's ``--config``."""
    path = tmp_path_factory.mktemp("config") / "small.toml"
    path.write_text(small_config.to_toml())
    return path


# == end PostgreSQL / materialization ==


@pytest.fixture
def wait_for():
    """Poll ``predicate`` until true or ``timeout`` seconds pass."""

    def _wait(predicate, timeout: float = 30.0, interval: float = 0.05) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(interval)
        return False

    return _wait


@pytest.fixture(scope="session")
def hand_duck(tmp_path_factory) -> str:
    """The loader tests' hand-built DuckDB database (tests/loader_fixtures.py, seed 3)."""
    from loader_fixtures import build_duckdb

    return build_duckdb(str(tmp_path_factory.mktemp("hand") / "hand.duckdb"), seed=3)
