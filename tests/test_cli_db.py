"""``plurel-sql generate / verify / describe`` from the command line, including the
bad-input cases: one-line errors, exit codes, deadlines, and no password anywhere."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time

import duckdb
import pytest

from plurel_sql.cli import main
from plurel_sql.dialects import create_engine

PASSWORD = "Hunter2-secret"


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code: int, err: str, *fragments: str) -> None:
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("plurel-sql: error: "), err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err, (fragment, err)


def test_usage_errors_mask_url_passwords(capsys):
    """argparse echoes arguments it rejects; a URL's password must not come with them."""
    with pytest.raises(SystemExit) as stop:
        main(["generate", "--seed", "0", "--db", f"postgresql://u:{PASSWORD}@127.0.0.1/x"])
    _, err = capsys.readouterr()
    assert_one_line_error(stop.value.code, err, "unrecognized arguments", "u:***@127.0.0.1")
    assert PASSWORD not in err


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_generate_verify_describe_duckdb(tmp_path, capsys, small_config_file):
    url = f"duckdb:///{tmp_path / 'cli.duckdb'}"
    code, _, err = run_cli(capsys, "generate", "--seed", "3", "--url", url,
                           "--config", str(small_config_file))  # fmt: skip
    assert code == 0 and "wrote " in err and "table table_0" in err
    code, out, _ = run_cli(capsys, "verify", url)
    assert code == 0 and out.startswith("ok: ")
    code, out, _ = run_cli(capsys, "describe", url)
    assert code == 0 and re.search(r"table_0 \((entity|activity)", out)
    assert "row_idx" in out and "PK" in out
    code, out, _ = run_cli(capsys, "describe", url, "--format", "mermaid")
    assert code == 0 and out.startswith("erDiagram")
    code, out, _ = run_cli(capsys, "describe", url, "--format", "dot")
    assert code == 0 and out.startswith("digraph")
    # the same command again refuses to overwrite, --replace overwrites
    code, _, err = run_cli(capsys, "generate", "--seed", "4", "--url", url, "--quiet",
                           "--config", str(small_config_file))  # fmt: skip
    assert_one_line_error(code, err, "already holds", "--replace")
    code, _, err = run_cli(capsys, "generate", "--seed", "4", "--url", url, "--quiet",
                           "--replace", "--config", str(small_config_file))  # fmt: skip
    assert code == 0 and err == ""


def test_verify_detects_tampering(tmp_path, capsys, small_config_file):
    path = tmp_path / "tampered.duckdb"
    url = f"duckdb:///{path}"
    assert run_cli(capsys, "generate", "--seed", "1", "--url", url, "--quiet",
                   "--config", str(small_config_file))[0] == 0  # fmt: skip
    con = duckdb.connect(str(path))
    column = next(
        c for (c,) in con.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_name = 'table_0' AND data_type IN ('DOUBLE', 'BOOLEAN')"
        ).fetchall()
    )  # fmt: skip
    con.execute(f'UPDATE "table_0" SET "{column}" = NULL WHERE "row_idx" < 3')
    con.execute("UPDATE plurel_meta SET value = '{}' WHERE key = 'row_counts'")
    con.close()
    code, out, err = run_cli(capsys, "verify", url)
    assert code == 1
    assert "table_0: checksum differs" in out and "rows, plurel_meta records None" in out
    assert "FAILED" in err


def test_unknown_scheme_lists_supported(capsys):
    code, _, err = run_cli(capsys, "generate", "--seed", "1", "--url",
                           f"mysql://root:{PASSWORD}@localhost/db")  # fmt: skip
    assert_one_line_error(code, err, "unsupported URL scheme 'mysql://'", "duckdb:///",
                          "postgresql://", "sqlite:///")  # fmt: skip
    assert PASSWORD not in err


@pytest.mark.parametrize(
    "make_url, fragment",
    [
        (lambda tmp: f"duckdb:///{tmp / 'no' / 'such' / 'dir' / 'x.duckdb'}", "does not exist"),
        (lambda tmp: f"sqlite:///{tmp / 'afile' / 'x.sqlite'}", "does not exist"),
        (lambda tmp: f"duckdb:///{tmp}", "is a directory"),
    ],
)
def test_unwritable_path(tmp_path, capsys, make_url, fragment):
    (tmp_path / "afile").write_text("not a directory")
    code, _, err = run_cli(capsys, "generate", "--seed", "1", "--url", make_url(tmp_path))
    assert_one_line_error(code, err, "cannot write", fragment)


def test_read_only_directory(tmp_path, capsys):
    import os

    if os.geteuid() == 0:
        pytest.skip("root may write anywhere; covered by the missing-directory cases")
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    code, _, err = run_cli(capsys, "generate", "--seed", "1", "--url", f"duckdb:///{ro}/x.duckdb")
    assert_one_line_error(code, err, "not writable")


def test_unreachable_server_fails_fast(capsys):
    url = f"postgresql://someone:{PASSWORD}@127.0.0.1:{_closed_port()}/db"
    started = time.monotonic()
    code, out, err = run_cli(capsys, "verify", url)
    assert time.monotonic() - started < 10
    assert_one_line_error(code, err, "cannot connect to PostgreSQL", "someone:***@")
    assert PASSWORD not in out + err


def test_unroutable_host_fails_within_ten_seconds(capsys):
    url = f"postgresql://someone:{PASSWORD}@10.255.255.1:5432/db"
    started = time.monotonic()
    code, out, err = run_cli(capsys, "describe", url)
    assert time.monotonic() - started < 10
    assert_one_line_error(code, err, "cannot connect to PostgreSQL")
    assert PASSWORD not in out + err


@pytest.mark.postgres
def test_wrong_credentials(pg_url, capsys):
    u = create_engine(pg_url).url.sa_url
    bad = u.set(username="nobody_here", password=PASSWORD, drivername="postgresql")
    url = bad.render_as_string(hide_password=False)
    started = time.monotonic()
    code, out, err = run_cli(capsys, "generate", "--seed", "1", "--url", url)
    assert time.monotonic() - started < 10
    assert_one_line_error(code, err, "cannot connect to PostgreSQL", "nobody_here:***@")
    assert ("password authentication failed" in err) or ("does not exist" in err)
    assert PASSWORD not in out + err


@pytest.mark.postgres
def test_postgres_cli_masks_password_in_progress(pg_url, drop_pg_schema, capsys, small_config_file):
    password = create_engine(pg_url).url.password
    schema = f"cli_{int(time.time() * 1000) % 10**9}"
    args = ["generate", "--seed", "2", "--url", pg_url, "--pg-schema", schema,
            "--config", str(small_config_file)]  # fmt: skip
    code, out, err = run_cli(capsys, *args)
    assert code == 0, err
    assert "table table_0" in err and f"(schema {schema})" in err
    if password:
        assert password not in out + err and ":***@" in err
    url = f"{pg_url}{'&' if '?' in pg_url else '?'}schema={schema}"
    code, out, err = run_cli(capsys, "verify", url)
    assert code == 0 and (not password or password not in out + err)
    code, _, err = run_cli(capsys, *args)  # exists already
    assert_one_line_error(code, err, f"schema '{schema}'", "--replace")
    if password:
        assert password not in err
    drop_pg_schema(schema)


@pytest.mark.slow
def test_sqlite_via_cli_and_subprocess_exit_codes(tmp_path, small_config_file):
    """The real console entry point: exit codes and stderr of a separate process."""
    url = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    ok = subprocess.run([sys.executable, "-m", "plurel_sql", "generate", "--seed", "0",
                         "--url", url, "--quiet", "--config", str(small_config_file)],
                        capture_output=True, text=True)  # fmt: skip
    assert ok.returncode == 0 and ok.stderr == ""
    verify = subprocess.run([sys.executable, "-m", "plurel_sql", "verify", url],
                            capture_output=True, text=True)  # fmt: skip
    assert verify.returncode == 0 and verify.stdout.startswith("ok: ")
    bad = subprocess.run([sys.executable, "-m", "plurel_sql", "verify", "redis://x"],
                         capture_output=True, text=True)  # fmt: skip
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "supported" in bad.stderr
