"""Schemas from SQL files: mapping, one-line refusals, and generation into the IR."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyarrow.compute as pc
import pytest
from generator_helpers import generated_tables, small_config

from plurel_sql.config import default_config
from plurel_sql.errors import SchemaError
from plurel_sql.generator.stream import DatabaseGenerator
from plurel_sql.schema.from_sql import schema_from_sql

SHOP = Path(__file__).parent.parent / "fixtures" / "shop.sql"


def test_shop_fixture_maps_to_the_ir() -> None:
    schema = schema_from_sql(SHOP, default_config(), 0)
    assert schema.origin == "sql"
    assert schema.table_names[-1] == "reviews" and schema.table_names.index("orders") < 3
    orders = schema.table("orders")
    assert orders.kind == "entity" and orders.primary_key == ["order_id"]
    assert [(fk.column, fk.parent) for fk in orders.foreign_keys] == [
        ("customer_id", "customers"),
        ("product_id", "products"),
    ]
    assert orders.time_column == "placed_at"
    assert {c.name: c.kind for c in orders.features} == {
        "quantity": "numeric",
        "express": "boolean",
    }
    segment = schema.table("customers").feature("segment")
    assert segment.kind == "categorical"
    assert segment.labels == ["consumer", "business", "public sector"]
    reviews = schema.table("reviews")
    assert reviews.kind == "activity" and reviews.time_column == "written_at"
    assert 2000 <= reviews.num_rows <= 5000


def test_generation_keeps_every_declared_column_and_label() -> None:
    schema = schema_from_sql(SHOP, small_config(), 3)
    gen = DatabaseGenerator(small_config(), 3, schema=schema)
    tables = generated_tables(gen)
    for table in schema.tables:
        assert tables[table.name].column_names == table.column_names()
    verdicts = set(tables["reviews"]["verdict"].to_pylist())
    assert verdicts - {None} <= {"bad", "ok", "great"}
    order_ids = tables["reviews"]["order_id"]
    assert pc.max(order_ids).as_py() < schema.table("orders").num_rows


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        (
            "CREATE TABLE t (id INTEGER PRIMARY KEY, doc JSONB);",
            "t.doc: type JSONB is not supported",
        ),
        (
            "CREATE TABLE t (id INTEGER PRIMARY KEY, boss INTEGER NOT NULL REFERENCES t (id));",
            "t.boss: a self-referencing foreign key must be nullable",
        ),
        (
            "CREATE TABLE a (id INTEGER PRIMARY KEY, b_id INTEGER NOT NULL REFERENCES b (id));"
            "CREATE TABLE b (id INTEGER PRIMARY KEY, a_id INTEGER NOT NULL REFERENCES a (id));",
            "none of them is nullable or deferrable",
        ),
        (
            "CREATE TABLE t (id INTEGER PRIMARY KEY, p INTEGER REFERENCES nope (id));",
            "unknown table",
        ),
        (
            "CREATE TABLE t (id INTEGER PRIMARY KEY, x INTEGER CHECK (x > 5 AND x < 3));",
            "t.x: cannot be satisfied",
        ),
        (
            "CREATE TABLE t (id INTEGER PRIMARY KEY, x INTEGER, CHECK (x > 0 OR x < -5));",
            "Or is not a supported shape",
        ),
        (
            "CREATE TABLE t (id INTEGER PRIMARY KEY,"
            " x INTEGER GENERATED ALWAYS AS (id + 1) STORED);",
            "t.x: generated (computed) columns are not supported",
        ),
        (
            "CREATE TABLE p (id INTEGER PRIMARY KEY, code INTEGER);"
            "CREATE TABLE c (id INTEGER PRIMARY KEY, code INTEGER REFERENCES p (code));",
            "neither its primary key nor UNIQUE",
        ),
        ("CREATE TABLE t (flag BOOLEAN PRIMARY KEY);", "cannot make the primary key unique"),
        ("CREATE TABLE oops (", "invalid SQL"),
        ("-- nothing here", "no CREATE TABLE"),
    ],
)
def test_unsupported_schemas_are_one_line_errors(tmp_path, sql: str, message: str) -> None:
    path = tmp_path / "schema.sql"
    path.write_text(sql)
    with pytest.raises(SchemaError) as info:
        schema_from_sql(path, default_config(), 0)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_every_problem_is_reported_at_once(tmp_path) -> None:
    """Three unsupported constructs in three tables: three lines, each naming its
    table and column."""
    path = tmp_path / "schema.sql"
    path.write_text(
        "CREATE TABLE a (id INTEGER PRIMARY KEY, doc JSON, span INTERVAL);"
        "CREATE TABLE b (id INTEGER PRIMARY KEY, a_id INTEGER REFERENCES a (nope));"
        "CREATE TABLE c (id INTEGER PRIMARY KEY, n INTEGER CHECK (n BETWEEN 5 AND 1));"
    )
    with pytest.raises(SchemaError) as info:
        schema_from_sql(path, default_config(), 0)
    lines = str(info.value).splitlines()
    assert len(lines) == 4, lines
    assert lines[0].startswith("a.doc:") and lines[1].startswith("a.span:")
    assert lines[2].startswith("b.a_id:") and lines[3].startswith("c.n:")


def test_missing_file_is_a_one_line_error(tmp_path) -> None:
    with pytest.raises(SchemaError, match="cannot read schema file"):
        schema_from_sql(tmp_path / "absent.sql", default_config(), 0)


def cli(*args: str) -> subprocess.CompletedProcess:
    """Run ``plurel-sql ARGS`` in a subprocess, capturing text output."""
    return subprocess.run(
        [sys.executable, "-m", "plurel_sql", *args], capture_output=True, text=True
    )


@pytest.mark.slow
def test_sql_schema_database_is_written_verified_and_sampled(tmp_path, small_config_file) -> None:
    """End to end on the user's key names: write, verify, list tasks, sample."""
    template = f"duckdb:///{tmp_path}/{{seed}}.duckdb"
    made = cli(
        "generate-many", "--seeds", "4", "--url-template", template,
        "--config", str(small_config_file), "--schema-sql", str(SHOP),
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    url = f"duckdb:///{tmp_path}/4.duckdb"
    for command in (
        ["verify", url],
        ["tasks", url],
        ["sample", url, "--task", "reviews.verdict", "--n", "1"],
    ):
        result = cli(*command)
        assert result.returncode == 0, result.stderr
        if command[0] == "tasks":
            assert "reviews.verdict" in result.stdout


@pytest.mark.slow
def test_generate_cli_with_schema_sql(tmp_path, small_config_file) -> None:
    generate = ("generate", "--seed", "1", "--quiet")
    url = f"sqlite:///{tmp_path}/shop.sqlite"
    config = str(small_config_file)
    ok = cli(*generate, "--url", url, "--config", config, "--schema-sql", str(SHOP))
    assert ok.returncode == 0, ok.stderr
    bad_sql = tmp_path / "bad.sql"
    bad_sql.write_text("CREATE TABLE t (id INTEGER PRIMARY KEY, note JSONB, at INTERVAL);")
    target = tmp_path / "never.sqlite"
    bad = cli(*generate, "--url", f"sqlite:///{target}", "--schema-sql", str(bad_sql))
    assert bad.returncode == 2, bad.stderr
    lines = bad.stderr.splitlines()
    assert lines == [
        "plurel-sql: error: t.note: type JSONB is not supported",
        "plurel-sql: error: t.at: type INTERVAL is not supported",
    ]
    assert not target.exists()


AWKWARD = """
CREATE TABLE "order" (
    "select" INTEGER PRIMARY KEY,
    "group" REAL,
    "Mixed Case" BOOLEAN,
    note TEXT CHECK (note IN ('it''s', 'a "quote"', 'plain'))
);
CREATE TABLE "user" (
    id INTEGER PRIMARY KEY,
    "order" INTEGER NOT NULL REFERENCES "order" ("select"),
    at TIMESTAMP,
    "limit" REAL
);
"""


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["duckdb", "sqlite", "postgresql"])
def test_reserved_words_and_quotes_in_names(
    tmp_path, small_config_file, engine: str, request
) -> None:
    """Identifiers that are SQL keywords (in some engine or all) and labels with
    quotes survive DDL, loading, verification and the loader's SQL."""
    from plurel_sql.loader import open_database, tasks

    sql = tmp_path / "awkward.sql"
    sql.write_text(AWKWARD)
    if engine == "postgresql":
        url = request.getfixturevalue("pg_schema_url")
    else:
        url = f"{engine}:///{tmp_path}/awkward.{engine}"
    made = cli(
        "generate", "--seed", "2", "--url", url, "--config", str(small_config_file),
        "--schema-sql", str(sql), "--replace", "--quiet",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    verified = cli("verify", url)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    db = open_database(url)
    names = {t.name for t in tasks(db)}
    assert {"order.note", "user.limit"} <= names
    sampled = cli("sample", url, "--task", "user.limit", "--n", "1")
    assert sampled.returncode == 0, sampled.stderr
