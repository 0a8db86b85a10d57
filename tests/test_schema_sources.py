"""Schemas from outside a DDL file: live databases (fill in place, --schema-from URL),
SQLAlchemy models, Alembic migrations, and drift reported by verify."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest
from generator_helpers import small_config

import plurel_sql
from plurel_sql.dialects import create_engine
from plurel_sql.materialize import read_meta

ROOT = Path(__file__).parent.parent
CORPUS = ROOT / "fixtures" / "schemas"
ALEMBIC_INI = ROOT / "fixtures" / "alembic" / "alembic.ini"


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "plurel_sql", *args], capture_output=True, text=True, cwd=cwd
    )


@pytest.fixture
def config_file(tmp_path) -> Path:
    path = tmp_path / "small.toml"
    path.write_text(
        small_config()
        .override(database={"entity_rows": [20, 40], "activity_rows": [50, 90]})
        .to_toml()
    )
    return path


def _pg_catalog(url: str) -> list[tuple]:
    """Columns with types, defaults and nullability, and every constraint's definition:
    what 'the user's DDL' is in the catalog."""
    dialect = create_engine(url).dialect
    con = dialect.connect(read_only=True)
    with con.cursor() as cur:
        cur.execute(
            "SELECT table_name, column_name, data_type, character_maximum_length, "
            "numeric_precision, numeric_scale, is_nullable, column_default "
            "FROM information_schema.columns WHERE table_schema = %s AND table_name <> "
            "'plurel_meta' ORDER BY table_name, ordinal_position",
            [dialect.schema],
        )
        columns = cur.fetchall()
        cur.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(c.oid) "
            "FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace "
            "WHERE n.nspname = %s AND conrelid::regclass::text NOT LIKE '%%plurel_meta%%' "
            "ORDER BY 1, 2",
            [dialect.schema],
        )
        constraints = cur.fetchall()
    con.close()
    return columns + constraints


@pytest.mark.slow  # CLI subprocesses
@pytest.mark.postgres
def test_live_postgres_round_trip_fill_verify_and_drift(
    pg_schema_url, run_pg_ddl, config_file
) -> None:
    """A schema created in PostgreSQL (self reference, a non-deferrable two-table cycle,
    composite keys, enums, uuid, serial) is filled in place: the DDL is exactly as it
    was, every key is enforced by PostgreSQL, verify passes; then a changed column is
    reported as drift."""
    events = (CORPUS / "events_pg.sql").read_text()
    events = events.replace("CREATE EXTENSION IF NOT EXISTS pgcrypto;", "")
    run_pg_ddl(pg_schema_url, (CORPUS / "org.sql").read_text() + events)
    before = _pg_catalog(pg_schema_url)
    filled = cli("fill", pg_schema_url, "--seed", "4", "--config", str(config_file), "--quiet")
    assert filled.returncode == 0, filled.stderr
    assert _pg_catalog(pg_schema_url) == before
    verified = cli("verify", pg_schema_url)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    dialect = create_engine(pg_schema_url).dialect
    con = dialect.connect()
    with con.cursor() as cur:
        cur.execute(f"SET search_path TO {dialect.quote(dialect.schema)}")
        cur.execute("SELECT count(*), count(head_id) FROM department")
        rows, heads = cur.fetchone()
        assert rows > 0 and 0 < heads <= rows  # links filled after the rows (the cycle)
        cur.execute("SELECT count(*) FROM employee WHERE manager_id = emp_id")
        assert cur.fetchone()[0] == 0
        cur.execute("SELECT max(ticket_no) FROM ticket")
        top = cur.fetchone()[0]
        cur.execute("SELECT nextval(pg_get_serial_sequence('ticket', 'ticket_no'))")
        assert cur.fetchone()[0] == top + 1  # the application's next INSERT fits
        cur.execute(  # titles are longer than 10 characters: cut them
            "ALTER TABLE project ALTER COLUMN title TYPE varchar(10) USING left(title, 10)"
        )
        cur.execute("ALTER TABLE employee ADD COLUMN nickname text")
    con.commit()
    con.close()
    drift = cli("verify", pg_schema_url)
    assert drift.returncode == 1
    assert "drift: column project.title: type VARCHAR(10) in the database, TEXT in plurel_meta" in (
        drift.stdout
    )
    assert "drift: column employee.nickname: not in plurel_meta" in drift.stdout


@pytest.mark.postgres
def test_fill_refuses_non_empty_or_missing_tables(pg_schema_url, run_pg_ddl, config_file) -> None:
    run_pg_ddl(
        pg_schema_url,
        "CREATE TABLE a (id INTEGER PRIMARY KEY, x REAL); INSERT INTO a VALUES (1, 2.5);",
    )
    before = _pg_catalog(pg_schema_url)
    refused = cli("fill", pg_schema_url, "--config", str(config_file), "--quiet")
    assert refused.returncode == 2
    assert refused.stderr.strip().endswith("table(s) a are not empty")
    assert _pg_catalog(pg_schema_url) == before
    assert "plurel_meta" not in create_engine(pg_schema_url).dialect.list_tables(
        create_engine(pg_schema_url).dialect.connect(read_only=True)
    )


# the user's schema objects (SQLite's own sqlite_* tables hold statistics after ANALYZE)
USER_DDL = (
    "SELECT name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_stat%' "
    "AND tbl_name <> 'plurel_meta'"
)
SQLITE_ORG = """
CREATE TABLE department (
    dept_id INTEGER PRIMARY KEY,
    name VARCHAR(40) NOT NULL UNIQUE,
    head_id INTEGER REFERENCES employee (emp_id)
);
CREATE TABLE employee (
    emp_id INTEGER PRIMARY KEY,
    dept_id INTEGER NOT NULL REFERENCES department (dept_id),
    manager_id INTEGER REFERENCES employee (emp_id),
    grade SMALLINT NOT NULL CHECK (grade BETWEEN 1 AND 9),
    hired DATE NOT NULL
);
CREATE TABLE assignment (
    emp_id INTEGER NOT NULL REFERENCES employee (emp_id),
    n SMALLINT NOT NULL,
    hours REAL CHECK (hours > 0),
    PRIMARY KEY (emp_id, n)
);
"""


@pytest.mark.slow  # CLI subprocesses
def test_fill_sqlite_and_duckdb_in_place(tmp_path, config_file) -> None:
    """Tables created by the user's own engine (SQLite: a cycle closed by a forward
    reference; DuckDB: a self reference, a composite key) are filled; the DDL SQLite
    keeps is byte for byte unchanged."""
    lite = tmp_path / "user.sqlite"
    con = sqlite3.connect(lite)
    con.executescript(SQLITE_ORG)
    ddl = sorted(con.execute(USER_DDL).fetchall())
    con.close()
    duck = tmp_path / "user.duckdb"
    dcon = duckdb.connect(str(duck))
    dcon.execute(
        "CREATE TABLE staff (id INTEGER PRIMARY KEY, boss INTEGER REFERENCES staff (id),"
        " name VARCHAR NOT NULL, pay DECIMAL(9, 2) CHECK (pay > 0));"
        "CREATE TABLE shift (staff_id INTEGER NOT NULL REFERENCES staff (id),"
        " n SMALLINT NOT NULL, starts TIMESTAMP NOT NULL, PRIMARY KEY (staff_id, n));"
    )
    dcon.close()
    for url in (f"sqlite:///{lite}", f"duckdb:///{duck}"):
        filled = cli("fill", url, "--config", str(config_file), "--quiet")
        assert filled.returncode == 0, filled.stderr
        verified = cli("verify", url)
        assert verified.returncode == 0, verified.stdout + verified.stderr
        assert verified.stderr == ""  # no library logging leaks, drift checked on both
    con = sqlite3.connect(lite)
    assert sorted(con.execute(USER_DDL).fetchall()) == ddl
    assert con.execute("SELECT count(*) FROM assignment").fetchone()[0] > 0
    con.close()


@pytest.mark.slow  # CLI subprocesses
@pytest.mark.postgres
def test_schema_from_a_live_database_into_another_engine(
    pg_schema_url, run_pg_ddl, tmp_path, config_file
):
    run_pg_ddl(pg_schema_url, (CORPUS / "tpch.sql").read_text())
    target = f"duckdb:///{tmp_path}/copy.duckdb"
    made = cli(
        "generate", "--seed", "2", "--schema-from", pg_schema_url, "--url", target,
        "--config", str(config_file), "--quiet",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert cli("verify", target).returncode == 0
    schema = read_meta(target)["schema"]
    assert schema.origin == "database"
    assert schema.table("lineitem").primary_key == ["l_orderkey", "l_linenumber"]
    assert [c.type.sql() for c in schema.table("part").columns][:3] == [
        "INTEGER", "VARCHAR(55)", "CHAR(25)",
    ]  # fmt: skip


MODELS = """
import enum
import uuid

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Colour(enum.Enum):
    red = "red"
    green = "green"


class Shop(Base):
    __tablename__ = "shop"
    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid, primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(40), unique=True)
    colour: Mapped[Colour] = mapped_column(sa.Enum(Colour, name="colour"))


class Sale(Base):
    __tablename__ = "sale"
    shop_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("shop.id"), primary_key=True)
    n: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    amount: Mapped[float] = mapped_column(sa.Numeric(8, 2))
    at: Mapped[sa.DateTime] = mapped_column(sa.DateTime(timezone=True))
    __table_args__ = (sa.CheckConstraint("amount > 0", name="ck_sale_amount"),)
"""


@pytest.mark.slow  # CLI subprocesses
def test_schema_from_sqlalchemy_models(tmp_path, config_file) -> None:
    (tmp_path / "shopmodels.py").write_text(textwrap.dedent(MODELS))
    target = f"sqlite:///{tmp_path}/models.sqlite"
    made = cli(
        "generate", "--seed", "1", "--schema-from", "shopmodels:Base", "--url", target,
        "--config", str(config_file), "--quiet", cwd=tmp_path,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert cli("verify", target).returncode == 0
    schema = read_meta(target)["schema"]
    assert schema.origin == "models"
    sale = schema.table("sale")
    assert sale.primary_key == ["shop_id", "n"]
    assert [c.type.sql() for c in sale.columns] == [
        "UUID", "INTEGER", "NUMERIC(8,2)", "TIMESTAMP WITH TIME ZONE",
    ]  # fmt: skip
    assert schema.table("shop").column("colour").labels == ["red", "green"]
    bad = cli(
        "generate", "--seed", "1", "--schema-from", "shopmodels:Nope", "--url", target, cwd=tmp_path
    )
    assert bad.returncode == 2 and "shopmodels has no Nope" in bad.stderr


def test_python_api_takes_models_objects_references_and_ddl_files(tmp_path, monkeypatch) -> None:
    """plurel_sql.generate takes a declarative Base, its MetaData or a
    ``module:attribute`` reference (same schema, same checksums) and a DDL file;
    plurel_sql.fill fills a database made from it in place."""
    (tmp_path / "apimodels.py").write_text(textwrap.dedent(MODELS))
    monkeypatch.syspath_prepend(str(tmp_path))
    import apimodels

    config = small_config()
    written = {}
    for name, source in [
        ("base", apimodels.Base),
        ("metadata", apimodels.Base.metadata),
        ("reference", "apimodels:Base"),
    ]:
        url = f"duckdb:///{tmp_path / name}.duckdb"
        written[name] = plurel_sql.generate(url, 4, config, schema_from=source).checksums
        assert read_meta(url)["schema"].origin == "models"
        assert plurel_sql.verify(url).ok
    assert written["base"] == written["metadata"] == written["reference"]
    assert set(written["base"]) == {"shop", "sale"}

    ddl = tmp_path / "shop.sql"
    ddl.write_text("CREATE TABLE `shop` (id INT PRIMARY KEY, name VARCHAR(20) NOT NULL);")
    url = f"sqlite:///{tmp_path / 'ddl.sqlite'}"
    result = plurel_sql.generate(url, 1, config, schema_sql=ddl, schema_dialect="mysql")
    assert read_meta(url)["schema"].origin == "sql" and result.rows > 0

    empty = tmp_path / "empty.sqlite"
    con = sqlite3.connect(empty)
    con.executescript("CREATE TABLE shop (id INTEGER PRIMARY KEY, name VARCHAR(20) NOT NULL);")
    con.close()
    filled = plurel_sql.fill(f"sqlite:///{empty}", 1, config)
    assert filled.row_counts["shop"] > 0 and plurel_sql.verify(f"sqlite:///{empty}").ok

    with pytest.raises(plurel_sql.SchemaError, match="not a SQLAlchemy MetaData"):
        plurel_sql.generate(url, 1, config, schema_from=42, replace=True)
    with pytest.raises(plurel_sql.SchemaError, match="not both"):
        plurel_sql.generate(url, 1, config, schema_sql=ddl, schema_from=apimodels.Base)


@pytest.mark.slow  # CLI subprocesses
@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_alembic_migrations_to_head_then_fill(tmp_path, config_file, engine, request) -> None:
    """fixtures/alembic holds real migrations (two revisions, batch ALTER on SQLite);
    fill --alembic-config upgrades the target to head, then fills it."""
    if engine == "postgresql":
        url = request.getfixturevalue("pg_schema_url")
        # the schema exists; Alembic creates the tables
        request.getfixturevalue("run_pg_ddl")(url, "SELECT 1")
    else:
        url = f"sqlite:///{tmp_path}/library.sqlite"
    filled = cli(
        "fill", url, "--alembic-config", str(ALEMBIC_INI), "--config", str(config_file), "--quiet"
    )
    assert filled.returncode == 0, filled.stderr
    verified = cli("verify", url)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    schema = read_meta(url)["schema"]
    assert schema.table_names == ["author", "book", "loan"]
    assert schema.table("book").column("genre").labels == ["novel", "poetry", "essay"]
    dialect = create_engine(url).dialect
    con = dialect.connect(read_only=True)
    version = dialect.fetchall(con, "SELECT version_num FROM alembic_version")
    con.close()
    assert version == [("0002",)]


@pytest.mark.parametrize(
    "name", ["tpch.sql", "events_pg.sql", "hostile.sql", "org.sql", "mysql_shop.sql"]
)
def test_duckdb_databases_verify_without_drift(tmp_path, name) -> None:
    """Drift is checked on DuckDB too (reflection from DuckDB's catalog): a freshly
    written database of a users' schema compares equal to its plurel_meta."""
    url = f"duckdb:///{tmp_path}/fresh.duckdb"
    plurel_sql.generate(url, 1, small_config(), schema_sql=CORPUS / name)
    report = plurel_sql.verify(url)
    assert report.ok and not report.notes, report.problems


def test_duckdb_drift_is_reported(tmp_path) -> None:
    """What a user changes after generation (a column added, NOT NULL dropped, a type
    changed, a table dropped) is drift on DuckDB, one line each."""
    url = f"duckdb:///{tmp_path}/tpch.duckdb"
    plurel_sql.generate(url, 1, small_config(), schema_sql=CORPUS / "tpch.sql")
    con = duckdb.connect(f"{tmp_path}/tpch.duckdb")
    con.execute("ALTER TABLE region ADD COLUMN r_extra INTEGER")
    con.execute("DROP TABLE lineitem")  # DuckDB alters no table another references
    con.execute("ALTER TABLE orders ALTER COLUMN o_comment DROP NOT NULL")
    con.execute("ALTER TABLE orders ALTER COLUMN o_shippriority SET DATA TYPE BIGINT")
    con.close()
    report = plurel_sql.verify(url)
    assert sorted(p for p in report.problems if p.startswith("drift:")) == [
        "drift: column orders.o_comment: NULL in the database, NOT NULL in plurel_meta",
        "drift: column orders.o_shippriority: type BIGINT in the database, INTEGER in plurel_meta",
        "drift: column region.r_extra: not in plurel_meta",
        "drift: table lineitem: missing from the database",
    ]
