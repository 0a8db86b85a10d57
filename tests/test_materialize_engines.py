"""Real engines: generate small databases, verify them, and let each engine enforce
its keys (DuckDB, SQLite and PostgreSQL; PostgreSQL is started by conftest)."""

from __future__ import annotations

import datetime as dt
import sqlite3
import uuid
from collections.abc import Iterator

import duckdb
import pytest
import sqlalchemy as sa
from standins.fabricate import FabricatedSource, example_schema

from plurel_sql.dialects import connect, create_engine
from plurel_sql.errors import DatabaseError
from plurel_sql.generator.stream import DatabaseGenerator
from plurel_sql.materialize import read_meta, verify_database, write_database
from plurel_sql.materialize.ddl import build_metadata

SEEDS = (0, 1, 2)
ENGINES = ("duckdb", "sqlite", "postgresql")


@pytest.fixture
def engine_url(request, tmp_path):
    """A fresh URL for the engine named by the test's ``engine`` parameter."""
    engine = request.param
    if engine == "postgresql":
        return request.getfixturevalue("pg_schema_url")
    return f"{engine}:///{tmp_path / ('db.' + engine)}"


def generate(url: str, config, seed: int, replace: bool = False, chunk_rows: int = 64):
    return write_database(
        DatabaseGenerator(config, seed, chunk_rows=chunk_rows),
        url,
        seed=seed,
        config=config.to_dict(),
        replace=replace,
    )


@pytest.fixture(scope="module")
def generations(
    tmp_path_factory, pg_url, drop_pg_schema, small_config
) -> Iterator[dict[str, list[tuple]]]:
    """Per engine: SEEDS generated one after the other into one target (each later
    seed replacing the previous database), with (seed, result, verify report, meta)
    taken right after each generation."""
    base = tmp_path_factory.mktemp("engines")
    schema = f"engines_{uuid.uuid4().hex[:8]}"
    urls = {
        "duckdb": f"duckdb:///{base / 'db.duckdb'}",
        "sqlite": f"sqlite:///{base / 'db.sqlite'}",
        "postgresql": f"{pg_url}{'&' if '?' in pg_url else '?'}schema={schema}",
    }
    out: dict[str, list[tuple]] = {}
    try:
        for engine, url in urls.items():
            for seed in SEEDS:
                result = generate(url, small_config, seed, replace=seed > 0)
                report = verify_database(url)
                out.setdefault(engine, []).append((seed, result, report, read_meta(url)))
        yield out
    finally:
        drop_pg_schema(schema)


@pytest.mark.parametrize("engine", ENGINES)
def test_generate_and_verify(engine, generations):
    assert [g[0] for g in generations[engine]] == list(SEEDS)
    for seed, result, report, meta in generations[engine]:
        assert report.ok, report.problems
        assert meta["seed"] == seed and meta["format_version"] == "1"
        assert meta["row_counts"] == result.row_counts
        assert meta["checksums"] == result.checksums == report.checksums
        assert [t.name for t in meta["schema"].tables] == list(result.row_counts)
        assert set(meta["config"]) == {
            "database",
            "connectivity",
            "scm",
            "graph",
            "rows",
            "columns",
        }
        assert set(meta["column_stats"]) == set(result.row_counts)
        dt.date.fromisoformat(meta["val_cutoff"])


def test_checksums_equal_across_engines(generations):
    assert set(generations) == set(ENGINES)
    for i, seed in enumerate(SEEDS):
        per_engine = {engine: generations[engine][i][3] for engine in ENGINES}
        assert {m["seed"] for m in per_engine.values()} == {seed}
        checksums = [m["checksums"] for m in per_engine.values()]
        assert checksums[0] and checksums[0] == checksums[1] == checksums[2]
        stats = [m["column_stats"] for m in per_engine.values()]
        assert stats[0] == stats[1] == stats[2]  # computed from the same batches


def _violations(engine: str):
    if engine == "duckdb":
        return duckdb.ConstraintException, duckdb.ConstraintException
    if engine == "sqlite":
        return sqlite3.IntegrityError, sqlite3.IntegrityError
    import psycopg

    return psycopg.errors.ForeignKeyViolation, psycopg.errors.UniqueViolation


@pytest.mark.parametrize("engine_url", ENGINES, indirect=True)
def test_engine_enforces_keys(engine_url, small_config):
    generate(engine_url, small_config, seed=4)
    dialect = create_engine(engine_url).dialect
    schema = read_meta(engine_url)["schema"]
    child = next(t for t in schema.tables if t.foreign_keys)
    sa_child = build_metadata(schema, dialect.schema, keys=False).tables[
        f"{dialect.schema}.{child.name}" if dialect.schema else child.name
    ]
    row = {fk.column: 0 for fk in child.foreign_keys}
    if child.time_column:
        row[child.time_column] = dt.datetime(2000, 1, 1)
    orphan_error, duplicate_error = _violations(dialect.name)
    con = connect(engine_url)
    try:
        orphan = dict(row, **{child.row_key: 10**9, child.foreign_keys[0].column: 10**12})
        with pytest.raises(orphan_error) as err:
            dialect.execute(con, sa.insert(sa_child).values(**orphan))
        assert "foreign" in str(err.value).lower()
        if dialect.name == "postgresql":
            con.rollback()
        duplicate = dict(row, **{child.row_key: 0})
        with pytest.raises(duplicate_error) as err:
            dialect.execute(con, sa.insert(sa_child).values(**duplicate))
        assert any(w in str(err.value).lower() for w in ("unique", "primary", "duplicate"))
    finally:
        con.close()
    assert verify_database(engine_url).ok


@pytest.mark.parametrize("engine_url", ENGINES, indirect=True)
def test_existing_tables_refused_without_replace(engine_url, small_config):
    generate(engine_url, small_config, seed=5)
    before = read_meta(engine_url)
    with pytest.raises(DatabaseError, match="--replace"):
        generate(engine_url, small_config, seed=6)
    assert read_meta(engine_url)["checksums"] == before["checksums"]
    generate(engine_url, small_config, seed=6, replace=True)
    assert read_meta(engine_url)["seed"] == 6
    assert verify_database(engine_url).ok


@pytest.mark.parametrize("engine", ["duckdb", "sqlite"])
def test_file_with_other_tables_is_written_in_place(engine, tmp_path):
    """A file holding unrelated tables keeps them; the generation lands beside them and
    --replace swaps only the generated tables (in one transaction)."""
    path = tmp_path / f"shared.{engine}"
    con = duckdb.connect(str(path)) if engine == "duckdb" else sqlite3.connect(path)
    con.execute("CREATE TABLE keep_me (x INTEGER)")
    con.execute("INSERT INTO keep_me VALUES (42)")
    con.commit()
    con.close()
    url = f"{engine}:///{path}"
    source = FabricatedSource(example_schema(), 1, 50)
    write_database(source, url, seed=1, config={})
    write_database(FabricatedSource(example_schema(num_tables=2), 2, 50), url,
                   seed=2, config={}, replace=True)  # fmt: skip
    assert verify_database(url).ok
    con = connect(url, read_only=True)
    assert con.execute("SELECT x FROM keep_me").fetchall() == [(42,)]
    tables = create_engine(url).dialect.list_tables(con)
    con.close()
    assert tables == {"keep_me", "plurel_meta", "table_0", "table_1"}


@pytest.mark.parametrize("engine_url", ENGINES, indirect=True)
def test_failure_mid_load_leaves_previous_state(engine_url, small_config):
    """An exception during the load (here: a batch breaking the contract) rolls back."""
    generate(engine_url, small_config, seed=7)
    before = read_meta(engine_url)

    class Broken(FabricatedSource):
        def batches(self):
            for i, (table, batch) in enumerate(super().batches()):
                if i == 5:
                    raise RuntimeError("generator crashed")
                yield table, batch

    with pytest.raises(RuntimeError):
        write_database(Broken(example_schema(), 1, 30), engine_url, seed=1,
                       config={}, replace=True)  # fmt: skip
    assert read_meta(engine_url)["checksums"] == before["checksums"]
    assert verify_database(engine_url).ok


def test_read_meta_without_plurel_meta(tmp_path):
    path = tmp_path / "plain.duckdb"
    duckdb.connect(str(path)).close()
    with pytest.raises(DatabaseError, match="no plurel_meta"):
        read_meta(f"duckdb:///{path}")
    with pytest.raises(DatabaseError, match="does not exist"):
        read_meta(f"duckdb:///{tmp_path / 'missing.duckdb'}")


@pytest.mark.postgres
def test_postgres_schemas_hold_separate_databases(pg_url, drop_pg_schema, small_config):
    names = ["multi_a", "multi_b"]
    try:
        for seed, name in enumerate(names):
            generate(f"{pg_url}?schema={name}", small_config, seed)
        metas = [read_meta(f"{pg_url}?schema={name}") for name in names]
        assert [m["seed"] for m in metas] == [0, 1]
        assert all(verify_database(f"{pg_url}?schema={n}").ok for n in names)
    finally:
        for name in names:
            drop_pg_schema(name)


@pytest.mark.parametrize("engine_url", ENGINES, indirect=True)
def test_replace_drops_reserved_cache_tables(engine_url):
    """Reserved ``plurel_*`` tables (e.g. the statistics cache earlier loaders kept,
    plurel_stats) describe one generation: --replace drops them with it."""
    dialect = create_engine(engine_url).dialect
    write_database(FabricatedSource(example_schema(), 1, 50), engine_url, seed=1, config={})
    cache = sa.Table("plurel_stats", sa.MetaData(), sa.Column("x", sa.Integer),
                     schema=dialect.schema)  # fmt: skip
    con = connect(engine_url)
    dialect.execute(con, sa.schema.CreateTable(cache))
    con.commit()
    con.close()
    write_database(FabricatedSource(example_schema(), 2, 50), engine_url, seed=2,
                   config={}, replace=True)  # fmt: skip
    con = connect(engine_url, read_only=True)
    assert "plurel_stats" not in dialect.list_tables(con)
    con.close()
