"""The schema corpus (fixtures/schemas/*.sql) generated into DuckDB, SQLite and
PostgreSQL: every database verifies, the engines themselves enforce keys, NOT NULL
and CHECKs, the types read back from each engine's catalog are the declared ones
(or the documented mapping), and the same seed gives the same checksums everywhere."""

from __future__ import annotations

import datetime as dt
import decimal
import math
import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from generator_helpers import small_config

import plurel_sql
from plurel_sql.checksum import TableChecksum
from plurel_sql.dialects import create_engine
from plurel_sql.generator.row_checks import violations
from plurel_sql.generator.stream import DatabaseGenerator
from plurel_sql.loader.stats import compute_table_stats
from plurel_sql.materialize import read_meta
from plurel_sql.materialize.ddl import build_metadata, catalog_type
from plurel_sql.materialize.progress import Progress
from plurel_sql.materialize.verify import verify_database
from plurel_sql.schema.from_sql import schema_from_sql
from plurel_sql.schema.ir import Schema, Table

CORPUS = Path(__file__).parent.parent / "fixtures" / "schemas"
FIXTURES = sorted(p.stem for p in CORPUS.glob("*.sql"))
ENGINES = ("duckdb", "sqlite", "postgresql")
SEED = 5


def corpus_config():
    return small_config().override(database={"entity_rows": [25, 50], "activity_rows": [60, 120]})


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, pg_url, drop_pg_schema) -> dict[tuple[str, str], str]:
    """Every fixture generated into every engine once: (fixture, engine) -> URL."""
    base = tmp_path_factory.mktemp("corpus")
    urls = {}
    tag = uuid.uuid4().hex[:6]
    for name in FIXTURES:
        for engine in ENGINES:
            if engine == "postgresql":
                url = f"{pg_url}?schema=corpus_{name}_{tag}"
            else:
                url = f"{engine}:///{base}/{name}.{engine}"
            plurel_sql.generate(
                url,
                SEED,
                corpus_config(),
                schema_sql=CORPUS / f"{name}.sql",
                progress=Progress(),
            )
            urls[(name, engine)] = url
    yield urls
    for name in FIXTURES:
        drop_pg_schema(f"corpus_{name}_{tag}")


CASES = [(name, engine) for name in FIXTURES for engine in ENGINES]


@pytest.mark.postgres
@pytest.mark.parametrize(("name", "engine"), CASES)
def test_corpus_database_verifies(corpus, name: str, engine: str) -> None:
    """verify re-checks on the engine: row counts, NOT NULL, primary-key and UNIQUE
    duplicates, every CHECK, foreign keys without parents, self-reference forests,
    and checksums recomputed from the engine's rows."""
    report = verify_database(corpus[(name, engine)])
    assert report.ok, report.problems
    assert report.rows > 0


@pytest.mark.postgres
@pytest.mark.parametrize("name", FIXTURES)
def test_same_seed_same_checksums_on_every_engine(corpus, name: str) -> None:
    sums = [read_meta(corpus[(name, engine)])["checksums"] for engine in ENGINES]
    assert sums[0] == sums[1] == sums[2]
    assert len(sums[0]) == len(read_meta(corpus[(name, "duckdb")])["schema"].tables)


@pytest.mark.postgres
@pytest.mark.parametrize(("name", "engine"), CASES)
def test_stored_column_stats_are_the_engines(corpus, name: str, engine: str) -> None:
    """The statistics written with the data (numeric cells and the time column,
    DATE or TIMESTAMP [WITH TIME ZONE], of any declared type) are the same on every
    engine and equal what the engine computes from the stored rows."""
    url = corpus[(name, engine)]
    db = plurel_sql.open_database(url)
    try:
        computed = {
            (t.name, c): v
            for t in db.schema.tables
            for c, v in compute_table_stats(db.dialect, db.connection(), t).items()
        }
        assert db.stats.keys() == computed.keys()
        for key, (mean, std) in db.stats.items():
            assert math.isclose(mean, computed[key][0], rel_tol=1e-9, abs_tol=1e-9), key
            scale = 1e-6 * max(1.0, abs(mean))
            if std > scale and computed[key][1] > scale:  # a constant column's float noise
                assert math.isclose(std, computed[key][1], rel_tol=1e-6), key
    finally:
        db.close()
    stored = read_meta(url)["column_stats"]
    assert stored == read_meta(corpus[(name, "duckdb")])["column_stats"]


def _catalog(engine: str, con: Any, dialect: Any, table: str) -> list[tuple[str, str]]:
    if engine == "duckdb":
        return con.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name = ? AND table_schema = current_schema() ORDER BY ordinal_position",
            [table],
        ).fetchall()
    if engine == "sqlite":
        return [(r[1], r[2]) for r in con.execute(f"PRAGMA table_info({dialect.quote(table)})")]
    with con.cursor() as cur:
        cur.execute(
            "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
            "JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relname = %s AND n.nspname = %s AND a.attnum > 0 AND NOT a.attisdropped "
            "ORDER BY a.attnum",
            [table, dialect.schema],
        )
        return cur.fetchall()


@pytest.mark.postgres
@pytest.mark.parametrize(("name", "engine"), CASES)
def test_catalog_types_are_the_declared_ones(corpus, name: str, engine: str) -> None:
    """Column names, order and types as the engine's catalog reports them equal the
    declaration (for types an engine lacks: the documented mapping)."""
    url = corpus[(name, engine)]
    declared = schema_from_sql(CORPUS / f"{name}.sql", corpus_config(), SEED)
    dialect = create_engine(url).dialect
    con = dialect.connect(read_only=True)
    try:
        for table in declared.tables:
            expected = [(c.name, catalog_type(table, c, engine)) for c in table.columns]
            assert _catalog(engine, con, dialect, table.name) == expected, table.name
    finally:
        con.close()


def _violating_value(table: Table, engine: str) -> tuple[str, Any] | None:
    """(column, value) that breaks the table's first single-column CHECK."""
    for check in table.checks:
        for atom in check.atoms:
            if atom.other is not None or atom.op == "not_null":
                continue
            column = table.column(atom.column)
            if column.name in table.link_columns() or column.name in table.primary_key:
                continue
            if atom.length:
                n = int(atom.values[0])
                return column.name, "x" * (n + 1) if atom.op in ("<", "<=", "=") else ""
            if atom.op in ("in", "not_in"):
                bad = "not-a-label" if column.type.is_text else 987_654
                return column.name, atom.values[0] if atom.op == "not_in" else bad
            value = atom.values[0]
            if not isinstance(value, int | float):
                continue
            bad = value - 1000 if atom.op in (">", ">=") else value + 1000
            if atom.op in ("<>", "="):
                bad = value if atom.op == "<>" else value + 1
            if column.type.name == "numeric" and engine != "sqlite":  # sqlite3 binds no Decimal
                bad = decimal.Decimal(str(bad))
            return column.name, bad
    return None


def _orphan_value(table: Table, schema: Schema, column: str) -> Any:
    t = table.column(column).type
    if t.name == "uuid":
        return str(uuid.UUID(int=12345))
    if t.is_text:
        return "zz"
    if t.name == "date":
        return dt.date(1900, 1, 1)
    return 99_999


def _expect_refused(dialect: Any, con: Any, stmt: Any, what: str) -> None:
    try:
        dialect.execute(con, stmt)
    except Exception as exc:  # the engine refused: what we want
        text = str(exc).lower()
        assert any(w in text for w in ("constraint", "violat", "null", "foreign", "check")), (
            what,
            text,
        )
        if dialect.name == "postgresql":
            con.rollback()
        return
    if dialect.name == "postgresql":
        con.rollback()
    raise AssertionError(f"{dialect.name} accepted {what}")


@pytest.mark.postgres
@pytest.mark.parametrize(("name", "engine"), CASES)
def test_engine_enforces_the_declared_constraints(corpus, name: str, engine: str) -> None:
    """The engine itself refuses rows that break a NOT NULL, a primary key, a foreign
    key or a CHECK of the schema (tried on every table that has one)."""
    url = corpus[(name, engine)]
    dialect = create_engine(url).dialect
    schema = read_meta(url)["schema"]
    metadata = build_metadata(schema, dialect.schema)
    tables = {t.name: t for t in metadata.tables.values()}
    con = dialect.connect()
    tried = set()
    try:
        for table in schema.tables:
            t = tables[table.name]
            unreferenced = sa.true()  # rows no self reference points at (DuckDB cannot
            for fk in table.foreign_keys:  # update those: it deletes and reinserts)
                if fk.parent == table.name:
                    refs = sa.select(t.c[fk.columns[0]]).where(t.c[fk.columns[0]].is_not(None))
                    unreferenced = sa.and_(unreferenced, t.c[fk.parent_columns[0]].not_in(refs))
            first = dialect.fetchall(con, sa.select(*t.c).limit(1))
            second = dialect.fetchall(con, sa.select(*t.c).where(unreferenced).limit(2))
            second = [r for r in second if r != first[0]] if first else []
            if not first or not second:
                continue
            row0 = dict(zip(t.c.keys(), first[0], strict=True))
            row1 = dict(zip(t.c.keys(), second[0], strict=True))
            leaf = not [c for c in schema.children(table.name) if c != table.name]
            where = sa.and_(*[t.c[c] == sa.literal(row1[c]) for c in table.primary_key or []])
            if not table.primary_key:
                continue
            not_null = [c.name for c in table.columns if not c.nullable]
            if not_null:
                stmt = sa.update(t).where(where).values({not_null[-1]: None})
                _expect_refused(dialect, con, stmt, f"NULL in {table.name}.{not_null[-1]}")
                tried.add("not null")
            if leaf:
                values = {c: row0[c] for c in table.primary_key}
                stmt = sa.update(t).where(where).values(values)
                _expect_refused(dialect, con, stmt, f"duplicate key in {table.name}")
                tried.add("primary key")
            declared = [
                fk for fk in table.foreign_keys if not fk.closes_cycle or engine != "duckdb"
            ]
            if declared and leaf:
                column = declared[0].columns[0]
                bad = _orphan_value(table, schema, column)
                stmt = sa.update(t).where(where).values({column: bad})
                _expect_refused(dialect, con, stmt, f"orphan {table.name}.{column}")
                tried.add("foreign key")
            broken = _violating_value(table, engine)
            if broken and leaf:
                stmt = sa.update(t).where(where).values({broken[0]: broken[1]})
                _expect_refused(dialect, con, stmt, f"CHECK on {table.name}.{broken[0]}")
                tried.add("check")
    finally:
        con.close()
    assert {"not null", "primary key", "foreign key"} <= tried, tried


@pytest.mark.parametrize("name", FIXTURES)
def test_corpus_values_satisfy_checks_and_do_not_depend_on_chunks(name: str) -> None:
    """Before any engine: every CHECK holds on the generated Arrow data, no NULL lands
    in a NOT NULL column, and chunk sizes 7 and 4096 give the same checksums."""
    schema = schema_from_sql(CORPUS / f"{name}.sql", corpus_config(), SEED)
    digests = []
    for chunk in (7, 4096):
        gen = DatabaseGenerator(corpus_config(), SEED, chunk_rows=chunk, schema=schema)
        sums: dict[str, TableChecksum] = {}
        parts: dict[str, list] = {}
        for table, batch in gen.batches():
            sums.setdefault(table.name, TableChecksum(table)).update(batch)
            parts.setdefault(table.name, []).append(batch)
        digests.append({k: v.hexdigest() for k, v in sums.items()})
        if chunk == 7:
            for table in gen.final_schema.tables:
                import pyarrow as pa

                data = pa.Table.from_batches(parts[table.name]).combine_chunks()
                columns = {c: data.column(c).combine_chunks() for c in data.column_names}
                for column in table.columns:
                    if not column.nullable:
                        assert columns[column.name].null_count == 0, (table.name, column.name)
                for check in table.checks:
                    assert not violations(check, columns, table).any(), (table.name, check.sql)
    assert digests[0] == digests[1]
