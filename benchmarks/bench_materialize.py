"""Materialization benchmarks (issue 3): end-to-end generate rates per engine, the
load path against each engine's native fastest path, and the load-path choices.

Run everything (starts a throwaway PostgreSQL 15 unless --pg-url is given)::

    python benchmarks/bench_materialize.py all --out /tmp/bench_materialize.json

Sections (sub-commands):

- ``end-to-end``: ``write_database(DatabaseGenerator(config, seed))`` (what the CLI
  runs: generation and loading overlapped) into DuckDB, PostgreSQL and SQLite for the
  default configuration (seeds 0..9) and the large configuration (8 tables, 20 000
  entity rows, 100 000 activity rows; seeds 0..2); rows/s, cells/s and the share of
  time the main thread spent generating vs waiting for loads.
- ``end-to-end-split``: the same databases, each generated once (timed) and its
  batches then loaded into every engine (timed separately): the exact split between
  generating and loading, and a cheaper run when generation is slow.
- ``native``: the same table shape (1 PK, 1 FK, 8 numeric, 2 boolean, 2 categorical
  columns, a timestamp) loaded through our path from prebuilt Arrow batches versus
  DuckDB ``CREATE TABLE AS SELECT ... FROM range(n)`` and PostgreSQL COPY of a
  prebuilt binary buffer and ``pgbench -i`` (data generation step only).
- ``load-paths``: PostgreSQL binary vs CSV COPY and keys before vs after the load;
  DuckDB primary key declared vs added after each table's load.
- ``batch-work``: what the writer computes per batch besides loading it (the
  checksum, then the loader's column statistics, in the writer's order) against the
  time to generate the same batches, default configuration seeds 0..9 (no engine).

Numbers are printed as a table and written as JSON (``--out``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # test stand-ins
from standins.fabricate import FabricatedSource  # noqa: E402

from plurel_sql.config import Config  # noqa: E402
from plurel_sql.dialects import create_engine  # noqa: E402
from plurel_sql.materialize.ddl import build_metadata  # noqa: E402
from plurel_sql.materialize.writer import write_database  # noqa: E402
from plurel_sql.schema.ir import Schema, Table, simple_table, value_column  # noqa: E402

PG_BIN = Path("/usr/lib/postgresql/15/bin")
LARGE = {"num_tables": [8, 8], "entity_rows": [20000, 20000], "activity_rows": [100000, 100000]}


# ----------------------------------------------------------------- PostgreSQL server
@contextlib.contextmanager
def throwaway_postgres() -> Iterator[str]:
    """Start a PostgreSQL 15 (fsync off) as user postgres on a free port; yield its URL."""
    base = Path(tempfile.mkdtemp(prefix="plurel-pgbench-"))
    base.chmod(0o755)
    as_pg = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = base / "data"
    subprocess.run(
        [*as_pg, str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
         "--no-sync"],
        check=True, capture_output=True,
    )  # fmt: skip
    opts = f"-p {port} -c listen_addresses=127.0.0.1 -k {base} -c fsync=off -c full_page_writes=off"
    subprocess.run(
        [*as_pg, str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(base / "log"), "-w",
         "-o", opts, "start"],
        check=True, capture_output=True,
    )  # fmt: skip
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*as_pg, str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"],
            capture_output=True,
        )
        shutil.rmtree(base, ignore_errors=True)


def engine_urls(workdir: Path, pg_url: str | None) -> dict[str, str]:
    urls = {
        "duckdb": f"duckdb:///{workdir / 'bench.duckdb'}",
        "sqlite": f"sqlite:///{workdir / 'bench.sqlite'}",
    }
    if pg_url:
        urls["postgresql"] = pg_url + ("&" if "?" in pg_url else "?") + "schema=bench"
    return urls


# ------------------------------------------------------------------------ end-to-end
def _runs(quick: bool, large_seeds: int) -> list[tuple[str, Config, int]]:
    default, large = Config().validate(), Config().override(database=LARGE)
    runs = [("large", large, s) for s in range(1 if quick else large_seeds)]
    return runs + [("default", default, s) for s in range(2 if quick else 10)]


def _e2e_row(label, engine, seed, result, generate_s, load_s, worker_s=0.0) -> dict:
    row = {"section": "end-to-end", "config": label, "engine": engine, "seed": seed}
    row.update(rows=result.rows, cells=result.cells, total_s=generate_s + load_s)
    row.update(generate_s=generate_s, load_s=load_s, load_worker_s=worker_s)
    print(json.dumps(row), flush=True)
    return row


def end_to_end(urls: dict[str, str], quick: bool, large_seeds: int = 3) -> list[dict]:
    """``generate`` as the CLI runs it: generator and loader overlapped, per engine."""
    from plurel_sql.generator.stream import DatabaseGenerator

    out = []
    for label, config, seed in _runs(quick, large_seeds):
        for engine, url in urls.items():
            r = write_database(DatabaseGenerator(config, seed), url, seed=seed,
                               config=config.to_dict(), replace=True)  # fmt: skip
            load_s = r.total_seconds - r.generate_seconds
            out.append(_e2e_row(label, engine, seed, r, r.generate_seconds, load_s,
                                r.worker_seconds))  # fmt: skip
    return out


def end_to_end_split(urls: dict[str, str], quick: bool, large_seeds: int = 3) -> list[dict]:
    """Generate each database once (timed), then load the same batches into every
    engine (timed): generating and loading measured separately, without overlap, so
    ``total = generate + load`` is an upper bound of ``generate``'s wall time."""
    from plurel_sql.generator.stream import DatabaseGenerator

    out = []
    for label, config, seed in _runs(quick, large_seeds):
        generator = DatabaseGenerator(config, seed)
        started = time.perf_counter()
        batches = list(generator.batches())
        generate_s = time.perf_counter() - started
        final = generator.final_schema
        for engine, url in urls.items():
            started = time.perf_counter()
            r = write_database(_Replay(final, batches), url, seed=seed,
                               config=config.to_dict(), replace=True)  # fmt: skip
            load_s = time.perf_counter() - started
            out.append(_e2e_row(label, engine, seed, r, generate_s, load_s))
    return out


def summarize_end_to_end(rows: list[dict]) -> list[str]:
    lines = [
        "| config | engine | runs | rows (mean) | rows/s | cells/s | generating | loading "
        "(waited) | loader busy |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    groups: dict[tuple[str, str], list[dict]] = {}
    for r in rows:
        groups.setdefault((r["config"], r["engine"]), []).append(r)
    for (config, engine), rs in groups.items():
        total = sum(r["total_s"] for r in rs)
        lines.append(
            f"| {config} | {engine} | {len(rs)} | {statistics.mean(r['rows'] for r in rs):,.0f} "
            f"| {sum(r['rows'] for r in rs) / total:,.0f} "
            f"| {sum(r['cells'] for r in rs) / total:,.0f} "
            f"| {100 * sum(r['generate_s'] for r in rs) / total:.0f} % "
            f"| {100 * sum(r['load_s'] for r in rs) / total:.0f} % "
            f"| {100 * sum(r.get('load_worker_s', 0) for r in rs) / total:.0f} % |"
        )
    return lines


def summarize_paths(rows: list[dict]) -> list[str]:
    lines = [
        "",
        "| section | engine | path | rows | seconds | rows/s |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        if r["section"] in ("native", "load-paths"):
            lines.append(
                f"| {r['section']} | {r['engine']} | {r.get('path') or r.get('variant')} "
                f"| {r['rows']:,} | {r['seconds']:.2f} | {r['rows_per_s']:,.0f} |"
            )
    return lines


# ---------------------------------------------------------------------------- native
def shape_schema(rows: int) -> Schema:
    """One parent (1 000 rows, no features) and one wide table of ``rows`` rows."""
    cats = ["alpha", "beta", "gamma", "delta"]
    features = [value_column(f"num_{i}", "numeric") for i in range(8)]
    features += [value_column(f"bool_{i}", "boolean", num_categories=2) for i in range(2)]
    features += [
        value_column(f"cat_{i}", "categorical", labels=cats, num_categories=4) for i in (0, 1)
    ]
    return Schema(
        tables=[
            simple_table("parent", "entity", 1000, "row_idx"),
            simple_table(
                "wide",
                "activity",
                rows,
                "row_idx",
                [("parent_id", "parent")],
                features,
                "event_time",
            ),
        ],
        min_date="2000-01-01",
        max_date="2020-01-01",
        val_cutoff="2016-01-01",
        test_cutoff="2018-01-01",
        origin="benchmark",
    )


def _prebuilt(schema: Schema, chunk_rows: int) -> list[tuple[Table, pa.RecordBatch]]:
    return list(FabricatedSource(schema, 0, chunk_rows).batches())


class _Replay:
    """A batch source replaying prebuilt batches (so only the load is timed)."""

    def __init__(self, schema: Schema, batches: list) -> None:
        self.planned_schema = schema
        self.final_schema = schema
        self._batches = batches

    def batches(self):
        return iter(self._batches)


def _time_load(url: str, schema: Schema, batches: list, **dialect_attrs) -> float:
    engine = create_engine(url)
    for key, value in dialect_attrs.items():
        setattr(engine.dialect, key, value)
    started = time.perf_counter()
    write_database(_Replay(schema, batches), engine, seed=0, config={}, replace=True)
    return time.perf_counter() - started


def duckdb_native(path: Path, rows: int, keyed: bool = False) -> float:
    """DuckDB generating the same shape itself from ``range(n)``: CREATE TABLE AS
    (no keys) or, with ``keyed``, INSERT ... SELECT into the same tables with the
    keys our DDL declares (PRIMARY KEY on both, FOREIGN KEY parent_id)."""
    import duckdb

    path.unlink(missing_ok=True)
    con = duckdb.connect(str(path))
    if keyed:
        schema = shape_schema(rows)
        dialect = create_engine(f"duckdb:///{path}").dialect
        for table in build_metadata(schema).sorted_tables:
            con.execute(str(sa.schema.CreateTable(table).compile(dialect=dialect.sa_dialect)))
        con.execute("INSERT INTO parent SELECT range FROM range(1000)")
    cols = ["range AS row_idx", "range % 1000 AS parent_id"]
    cols += [f"random() * 10 AS num_{i}" for i in range(8)]
    cols += [f"random() < 0.5 AS bool_{i}" for i in range(2)]
    cols += [f"['alpha','beta','gamma','delta'][1 + (range % 4)::INT] AS cat_{i}" for i in (0, 1)]
    cols += ["TIMESTAMP '2000-01-01' + INTERVAL (range) SECOND AS event_time"]
    started = time.perf_counter()
    if keyed:
        con.execute(f"INSERT INTO wide SELECT {', '.join(cols)} FROM range({rows})")
    else:
        con.execute(f"CREATE TABLE wide AS SELECT {', '.join(cols)} FROM range({rows})")
    con.execute("CHECKPOINT")
    seconds = time.perf_counter() - started
    con.close()
    return seconds


def pg_native_copy(url: str, schema: Schema, batches: list, keyed: bool = False) -> float:
    """COPY of prebuilt binary buffers into an unconstrained table (encoding not timed);
    with ``keyed`` also ALTER TABLE ... ADD PRIMARY KEY / FOREIGN KEY afterwards."""
    from plurel_sql.dialects.pgcopy import encode_batch

    dialect = create_engine(url).dialect
    con = dialect.connect()
    tables = {t.name: t for t in build_metadata(schema, dialect.schema, keys=False).tables.values()}
    buffers = {name: [encode_batch(b) for t, b in batches if t.name == name] for name in tables}
    dialect.create_schema(con)
    for table in reversed(list(tables.values())):
        dialect.execute(con, f"DROP TABLE IF EXISTS {dialect.quote_table(table)} CASCADE")
    for table in tables.values():
        dialect.execute(con, sa.schema.CreateTable(table))

    def copy(name: str) -> None:
        table = tables[name]
        cols = ", ".join(dialect.quote(c.name) for c in table.columns)
        sql = f"COPY {dialect.quote_table(table)} ({cols}) FROM STDIN (FORMAT BINARY)"
        with con.cursor() as cur:
            for buf in buffers[name]:
                with cur.copy(sql) as cp:
                    cp.write(buf)

    parent, wide = dialect.quote_table(tables["parent"]), dialect.quote_table(tables["wide"])
    copy("parent")
    dialect.execute(con, f"ALTER TABLE {parent} ADD PRIMARY KEY (row_idx)")
    con.commit()
    started = time.perf_counter()
    copy("wide")
    if keyed:
        dialect.execute(con, f"ALTER TABLE {wide} ADD PRIMARY KEY (row_idx)")
        dialect.execute(
            con,
            f"ALTER TABLE {wide} ADD FOREIGN KEY (parent_id) REFERENCES {parent} (row_idx)",
        )
    con.commit()
    seconds = time.perf_counter() - started
    for table in (wide, parent):
        dialect.execute(con, f"DROP TABLE {table} CASCADE")
    con.commit()
    con.close()
    return seconds


def pgbench_init(url: str, scale: int) -> float | None:
    """Seconds for ``pgbench -i -I dtg`` (drop, create tables, generate data) at ``scale``."""
    exe = PG_BIN / "pgbench"
    if not exe.exists():
        return None
    d = create_engine(url).url.sa_url
    env = dict(os.environ)
    if d.password:
        env["PGPASSWORD"] = d.password
    cmd = [str(exe), "-i", "-I", "dtg", "-s", str(scale), "-h", d.host or "127.0.0.1",
           "-p", str(d.port or 5432), "-U", d.username or "postgres", d.database]  # fmt: skip
    started = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, env=env)
    seconds = time.perf_counter() - started
    subprocess.run([*cmd[:1], "-i", "-I", "d", *cmd[5:]], capture_output=True, env=env)
    return seconds


def native(urls: dict[str, str], workdir: Path, rows: int) -> list[dict]:
    schema = shape_schema(rows)
    batches = _prebuilt(schema, 65536)
    out = []
    cells = rows * 15

    def record(engine: str, path: str, seconds: float, n: int = rows) -> None:
        row = {"section": "native", "engine": engine, "path": path, "rows": n}
        row.update(seconds=seconds, rows_per_s=n / seconds, cells_per_s=cells / seconds)
        out.append(row)
        print(json.dumps(row), flush=True)

    record(
        "duckdb",
        "ours (as generate: FKs declared, PK added per table)",
        _time_load(urls["duckdb"], schema, batches),
    )
    record(
        "duckdb", "CREATE TABLE AS SELECT FROM range(n)", duckdb_native(workdir / "n.duckdb", rows)
    )
    keyed = duckdb_native(workdir / "k.duckdb", rows, keyed=True)
    record("duckdb", "INSERT SELECT FROM range(n) into keyed tables", keyed)
    if "postgresql" in urls:
        record(
            "postgresql",
            "ours (binary COPY, keys after)",
            _time_load(urls["postgresql"], schema, batches),
        )
        record(
            "postgresql",
            "COPY prebuilt binary buffer",
            pg_native_copy(urls["postgresql"], schema, batches),
        )
        record(
            "postgresql",
            "COPY prebuilt binary buffer, then ADD PRIMARY KEY + FOREIGN KEY",
            pg_native_copy(urls["postgresql"], schema, batches, keyed=True),
        )
        scale = max(1, rows // 100_000)
        seconds = pgbench_init(urls["postgresql"], scale)
        if seconds is not None:
            # pgbench_accounts rows have 4 columns (aid, bid, abalance, filler char(84))
            n = scale * 100_000
            row = {"section": "native", "engine": "postgresql", "rows": n}
            row.update(path=f"pgbench -i -I dtg -s {scale}", seconds=seconds)
            row.update(rows_per_s=n / seconds, cells_per_s=4 * n / seconds)
            out.append(row)
            print(json.dumps(row), flush=True)
    record(
        "sqlite", "ours (executemany, one transaction)", _time_load(urls["sqlite"], schema, batches)
    )
    return out


# ------------------------------------------------------------------------ load paths
def load_paths(urls: dict[str, str], rows: int) -> list[dict]:
    schema = shape_schema(rows)
    batches = _prebuilt(schema, 65536)
    out = []

    def record(engine: str, variant: str, seconds: float) -> None:
        row = {"section": "load-paths", "engine": engine, "variant": variant, "rows": rows}
        row.update(seconds=seconds, rows_per_s=rows / seconds)
        out.append(row)
        print(json.dumps(row), flush=True)

    if "postgresql" in urls:
        url = urls["postgresql"]
        for fmt in ("binary", "csv"):
            for timing in ("end", "declared"):
                keys = "keys after load" if timing == "end" else "keys before load"
                t = _time_load(url, schema, batches, copy_format=fmt, key_timing=timing)
                record("postgresql", f"COPY {fmt}, {keys}", t)
    variants = (("table", "FKs declared, PK added per table"), ("declared", "keys declared"))
    for timing, label in variants:
        record("duckdb", label, _time_load(urls["duckdb"], schema, batches, key_timing=timing))
    sqlite_time = _time_load(urls["sqlite"], schema, batches)
    record("sqlite", "keys declared, FK enforcement off, foreign_key_check at end", sqlite_time)
    return out


def batch_work(seeds: range) -> dict:
    """Seconds generating vs checksumming vs column statistics, per batch in the
    writer's order (checksum first, so statistics see warm data, as when writing)."""
    from plurel_sql.checksum import TableChecksum
    from plurel_sql.column_stats import TableStats
    from plurel_sql.generator.stream import DatabaseGenerator

    seconds = {"generate": 0.0, "checksum": 0.0, "column_stats": 0.0}
    for seed in seeds:
        started = time.perf_counter()
        batches = list(DatabaseGenerator(Config().validate(), seed).batches())
        seconds["generate"] += time.perf_counter() - started
        sums: dict[str, TableChecksum] = {}
        stats: dict[str, TableStats] = {}
        for table, batch in batches:
            t0 = time.perf_counter()
            sums.setdefault(table.name, TableChecksum(table)).update(batch)
            t1 = time.perf_counter()
            stats.setdefault(table.name, TableStats(table)).update(batch)
            seconds["checksum"] += t1 - t0
            seconds["column_stats"] += time.perf_counter() - t1
    row = {"section": "batch-work", **seconds}
    row.update({f"{k}_share": v / seconds["generate"] for k, v in seconds.items()})
    print(json.dumps(row), flush=True)
    return row


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument(
        "section",
        choices=("all", "end-to-end", "end-to-end-split", "native", "load-paths", "batch-work"),
    )
    p.add_argument("--large-seeds", type=int, default=3, help="seeds 0..N-1 of the large config")
    p.add_argument("--pg-url", help="PostgreSQL URL (default: start a throwaway server)")
    p.add_argument("--no-pg", action="store_true", help="skip PostgreSQL")
    p.add_argument("--rows", type=int, default=1_000_000, help="rows of the native/load shape")
    p.add_argument("--quick", action="store_true", help="fewer seeds (smoke run)")
    p.add_argument("--out", help="write all results as JSON here")
    p.add_argument("--summarize", metavar="LOG", help="print tables from a log of JSON lines")
    args = p.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the server on kill
    if args.summarize:
        rows = [
            json.loads(x) for x in Path(args.summarize).read_text().splitlines() if x[:1] == "{"
        ]
        print("\n".join(summarize_end_to_end([r for r in rows if r["section"] == "end-to-end"])))
        print("\n".join(summarize_paths(rows)))
        return 0
    if args.section == "batch-work":
        row = batch_work(range(2 if args.quick else 10))
        if args.out:
            Path(args.out).write_text(json.dumps([row], indent=1))
        return 0
    workdir = Path(tempfile.mkdtemp(prefix="plurel-bench-"))
    results: list[dict] = []
    with contextlib.ExitStack() as stack:
        pg_url = args.pg_url
        if not pg_url and not args.no_pg:
            pg_url = stack.enter_context(throwaway_postgres())
        urls = engine_urls(workdir, None if args.no_pg else pg_url)
        if args.section in ("all", "load-paths"):
            results += load_paths(urls, args.rows)
        if args.section in ("all", "native"):
            results += native(urls, workdir, args.rows)
        if args.section == "end-to-end-split":
            e2e = end_to_end_split(urls, args.quick, args.large_seeds)
            results += e2e
            print("\n".join(summarize_end_to_end(e2e)))
        if args.section in ("all", "end-to-end"):
            e2e = end_to_end(urls, args.quick, args.large_seeds)
            results += e2e
            print("\n".join(summarize_end_to_end(e2e)))
    shutil.rmtree(workdir, ignore_errors=True)
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
