"""Test-only builder of small databases following the materializer's contract.

Lets the loader tests run against DuckDB and PostgreSQL databases without the
generator: a hand-written Schema IR, random values, tables with ``row_idx``
primary keys, BIGINT foreign keys, DOUBLE/BOOLEAN/TEXT features, a TIMESTAMP
time column on activity tables, and the ``plurel_meta`` table.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import numpy as np

from plurel_sql.dialects.loader_sql import quote
from plurel_sql.schema.ir import Schema, Table, simple_table, value_column


def small_schema(scale: int = 1) -> Schema:
    """Two entity tables and two activity tables, one of them with two parents."""
    return Schema(
        tables=[
            simple_table(
                "users",
                "entity",
                60 * scale,
                "row_idx",
                [],
                [
                    value_column("age", "numeric"),
                    value_column(
                        "tier", "categorical", labels=["gold", "silver", "bronze"], num_categories=3
                    ),
                    value_column("active", "boolean", num_categories=2),
                ],
            ),
            simple_table(
                "shops",
                "entity",
                30 * scale,
                "row_idx",
                [("owner", "users")],
                [
                    value_column("rating", "numeric"),
                    value_column("open", "boolean", num_categories=2),
                ],
            ),
            simple_table(
                "orders",
                "activity",
                400 * scale,
                "row_idx",
                [("buyer", "users"), ("shop", "shops")],
                [
                    value_column("amount", "numeric"),
                    value_column("channel", "categorical", labels=["web", "app"], num_categories=2),
                ],
                time_column="date",
            ),
            simple_table(
                "visits",
                "activity",
                300 * scale,
                "row_idx",
                [("shop", "shops")],
                [
                    value_column("minutes", "numeric"),
                ],
                time_column="date",
            ),
        ],
        min_date="2000-01-01",
        max_date="2010-01-01",
        val_cutoff="2008-01-01",
        test_cutoff="2009-01-01",
    )


def random_tables(schema: Schema, seed: int = 0) -> dict[str, dict[str, np.ndarray]]:
    """Column arrays per table (None for NULL); activity rows in time order."""
    rng = np.random.default_rng(seed)
    lo = datetime.fromisoformat(schema.min_date).replace(tzinfo=UTC).timestamp()
    hi = datetime.fromisoformat(schema.max_date).replace(tzinfo=UTC).timestamp()
    out: dict[str, dict[str, np.ndarray]] = {}
    for t in schema.tables:
        n = t.num_rows
        cols: dict[str, np.ndarray] = {"row_idx": np.arange(n, dtype=np.int64)}
        for fk in t.foreign_keys:
            pn = schema.table(fk.parent).num_rows
            # skewed so some parents have many children (exercises the width cap)
            cols[fk.column] = np.minimum((rng.pareto(1.2, n) * pn / 8).astype(np.int64), pn - 1)
        for c in t.features:
            if c.kind == "numeric":
                v = rng.normal(10, 3, n).astype(object)
                if c.nullable:
                    v[rng.random(n) < 0.1] = None
            elif c.kind == "boolean":
                v = (rng.random(n) < 0.4).astype(object)
            else:
                v = np.array(c.labels, dtype=object)[rng.integers(0, len(c.labels), n)]
            cols[c.name] = v
        if t.time_column:
            secs = np.linspace(lo, hi - 86400, n).astype(np.int64)
            cols[t.time_column] = np.array(
                [datetime.fromtimestamp(int(s), UTC).replace(tzinfo=None) for s in secs],
                dtype=object,
            )
        out[t.name] = cols
    return out


def _ddl(schema: Schema, double: str) -> list[str]:
    stmts = []
    for t in schema.tables:
        cols = [f"{quote(t.row_key)} BIGINT PRIMARY KEY"]
        cols += [
            f"{quote(fk.column)} BIGINT NOT NULL REFERENCES {quote(fk.parent)} (row_idx)"
            for fk in t.foreign_keys
        ]
        for c in t.features:
            typ = {"numeric": double, "boolean": "BOOLEAN", "categorical": "TEXT"}[c.kind]
            cols.append(f"{quote(c.name)} {typ}")
        if t.time_column:
            cols.append(f"{quote(t.time_column)} TIMESTAMP NOT NULL")
        stmts.append(f"CREATE TABLE {quote(t.name)} ({', '.join(cols)})")
    stmts.append("CREATE TABLE plurel_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    return stmts


def _meta(schema: Schema, seed: int) -> list[tuple[str, str]]:
    return [
        ("format_version", "1"),
        ("package_version", "test"),
        ("seed", str(seed)),
        ("config", "{}"),
        ("schema", schema.to_json()),
        ("min_date", schema.min_date),
        ("max_date", schema.max_date),
        ("val_cutoff", schema.val_cutoff),
        ("test_cutoff", schema.test_cutoff),
        ("row_counts", json.dumps({t.name: t.num_rows for t in schema.tables})),
        ("checksums", "{}"),
        ("created_at", "2026-01-01T00:00:00Z"),
    ]


def _rows(t: Table, cols: dict[str, np.ndarray]) -> list[tuple]:
    names = t.column_names()
    return list(
        zip(*[[x.item() if hasattr(x, "item") else x for x in cols[n]] for n in names], strict=True)
    )


def build_duckdb(path: str, schema: Schema | None = None, seed: int = 0) -> str:
    """Write the small database to a DuckDB file; return its URL."""
    import duckdb

    schema = schema or small_schema()
    data = random_tables(schema, seed)
    import pandas as pd

    con = duckdb.connect(path)
    for s in _ddl(schema, "DOUBLE"):
        con.execute(s)
    for t in schema.tables:
        frame = pd.DataFrame({n: list(data[t.name][n]) for n in t.column_names()})
        con.register("plurel_fixture_rows", frame)
        con.execute(f"INSERT INTO {quote(t.name)} SELECT * FROM plurel_fixture_rows")
        con.unregister("plurel_fixture_rows")
    con.executemany("INSERT INTO plurel_meta VALUES (?, ?)", _meta(schema, seed))
    con.close()
    return f"duckdb:///{path}"


def build_postgres(url: str, schema_name: str, schema: Schema | None = None, seed: int = 0) -> str:
    """Write the small database into a fresh PostgreSQL schema; return a URL using it."""
    from plurel_sql.dialects import connect

    schema = schema or small_schema()
    data = random_tables(schema, seed)
    with connect(url) as con:
        con.execute(f"DROP SCHEMA IF EXISTS {quote(schema_name)} CASCADE")
        con.execute(f"CREATE SCHEMA {quote(schema_name)}")
        con.execute(f"SET search_path TO {quote(schema_name)}")
        for s in _ddl(schema, "DOUBLE PRECISION"):
            con.execute(s)
        for t in schema.tables:
            with con.cursor().copy(
                f"COPY {quote(t.name)} ({', '.join(quote(n) for n in t.column_names())}) FROM STDIN"
            ) as cp:
                for r in _rows(t, data[t.name]):
                    cp.write_row(r)
        with con.cursor() as cur:
            cur.executemany("INSERT INTO plurel_meta VALUES (%s, %s)", _meta(schema, seed))
        con.commit()
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}schema={schema_name}"


def read_table(url: str, name: str) -> dict[str, list]:
    """A whole table as Python lists (independent of the loader's fetch code)."""
    from plurel_sql.dialects import using_engine

    with using_engine(url) as engine:
        sql = f"SELECT * FROM {quote(name)} ORDER BY row_idx"
        return engine.dialect.run(engine.connection(), sql).to_pydict()


SMALL_CONFIG = {
    "num_tables": [3, 5],
    "entity_rows": [50, 100],
    "activity_rows": [200, 400],
    "feature_columns": [3, 6],
}


def generate_db(url: str, seed: int, database: dict | None = None) -> str:
    """Generate a database with the real pipeline (generator + materializer)."""
    import plurel_sql

    config = {"database": database or SMALL_CONFIG}
    plurel_sql.generate(url, seed, config, chunk_rows=4096, replace=True)
    return url


def reachable_rows(
    url: str, table: str, row: int, asof: int, max_depth: int | None = None
) -> set[tuple[str, int]]:
    """Test-only breadth-first closure in plain Python over tables read whole.

    Follows every foreign key up and every child down (no width cap, no cell
    budget), skipping rows with a time later than ``asof``. Independent of the
    loader's code: it reads tables with ``SELECT *`` and walks Python dicts.
    """
    from plurel_sql.loader.meta import open_database

    schema = open_database(url).schema
    data = {t.name: read_table(url, t.name) for t in schema.tables}

    def secs(v) -> int | None:
        if isinstance(v, str):  # SQLite stores timestamps as text
            v = datetime.fromisoformat(v)
        return None if v is None else int(v.replace(tzinfo=UTC).timestamp())

    times = {
        t.name: [secs(v) for v in data[t.name][t.time_column]] if t.time_column else None
        for t in schema.tables
    }
    children: dict[tuple[str, int], list[tuple[str, int]]] = {}
    parents: dict[tuple[str, int], list[tuple[str, int]]] = {}
    for t in schema.tables:
        for fk in t.foreign_keys:
            for r, p in zip(data[t.name]["row_idx"], data[t.name][fk.column], strict=True):
                if p is None:
                    continue
                children.setdefault((fk.parent, p), []).append((t.name, r))
                parents.setdefault((t.name, r), []).append((fk.parent, p))

    def ok(node: tuple[str, int]) -> bool:
        ts = times[node[0]]
        return ts is None or ts[node[1]] is None or ts[node[1]] <= asof

    seen = {(table, row)}
    frontier = [(table, row)]
    depth = 0
    while frontier and (max_depth is None or depth < max_depth):
        depth += 1
        nxt = []
        for node in frontier:
            for other in parents.get(node, []) + children.get(node, []):
                if other not in seen and ok(other):
                    seen.add(other)
                    nxt.append(other)
        frontier = nxt
    return seen


def seed_batch(src, epoch: int, idx: np.ndarray):
    """The SeedBatch a ContextSource walks for items ``idx`` of ``epoch``."""
    from plurel_sql.loader.walk import SeedBatch

    s = src.seeds(epoch, idx)
    return SeedBatch(s.tab, s.row, s.asof, s.salt, s.target_slot, s.task_idx)


def assert_width_cap(capped, wide, max_width: int, batches: int) -> None:
    """A seed's children (depth-1 rows of its child tables; the schema is a DAG, so
    those are never its parents) never exceed ``max_width`` in ``capped``'s walk,
    match ``wide``'s (uncapped) walk up to the cap, and the cap does bind."""
    layout = capped.samplers[0].layout
    bound = False
    for b in range(min(batches, capped.num_batches)):
        sb = seed_batch(capped, 0, capped.batch_items(0, b))
        c, f = capped.samplers[0].walk(sb), wide.samplers[0].walk(sb)
        for s in range(len(sb)):
            kids = [e.child_idx for e in layout.edges if e.parent_idx == int(sb.tab[s])]
            n_capped = ((c.seq == s) & (c.depth == 1) & np.isin(c.tab, kids)).sum()
            n_full = ((f.seq == s) & (f.depth == 1) & np.isin(f.tab, kids)).sum()
            assert n_capped <= max_width
            assert n_capped == min(n_full, max_width)
            bound |= n_full > max_width
    assert bound, "fixture too small: the width cap never had to sample"
