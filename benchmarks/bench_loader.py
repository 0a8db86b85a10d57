"""Dataloader throughput: contexts per second from DuckDB, PostgreSQL and memory.

Two steps, so the slow part (generation) runs once:

    python benchmarks/bench_loader.py prepare --dir /tmp/plurel-bench --pg-url postgresql://...
    python benchmarks/bench_loader.py run --dir /tmp/plurel-bench --pg-url postgresql://...

``prepare`` generates the *default* configuration (seed 1) and a *large* one
(8 tables, entity 20000 rows, activity 100000 rows; seed 1) into DuckDB files
with ``plurel-sql``'s generator and materializer, then copies each into a
PostgreSQL schema through the materializer (same rows, same keys). ``run``
measures contexts/s for batch 32, ctx_len 1024, max_width 128 on the train
split: the SQL sampler on DuckDB and PostgreSQL, single process and through a
torch DataLoader with 2 workers, and two in-memory anchors over the same tables
read whole, from the tests' stand-ins (tests/standins/, put on ``sys.path``):
``memory`` (the per-sequence reference, ``MemorySampler``) and ``numpy`` (the
same walk vectorized over a whole group of sequences, ``NumpySampler``).
``--samplers`` picks a subset. It prints a Markdown table and writes JSON next
to it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa

TESTS = Path(__file__).resolve().parent.parent / "tests"  # the in-memory stand-ins
CONFIGS = {
    "default": {},
    "large": {
        "num_tables": [8, 8],
        "entity_rows": [20000, 20000],
        "activity_rows": [100000, 100000],
    },
}


def _pg(url: str, schema: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}schema={schema}"


class DuckDBSource:
    """Batch source reading an existing plurel DuckDB database (for copying it)."""

    def __init__(self, url: str) -> None:
        from plurel_sql.loader import open_database

        self.url = url
        self.db = open_database(url)
        self.planned_schema = self.db.schema

    @property
    def final_schema(self):
        return self.db.schema

    def batches(self) -> Iterator[tuple]:
        from plurel_sql.dialects import connect

        con = connect(self.url, read_only=True)
        try:
            for t in self.db.schema.tables:
                cols = ", ".join(f'"{c}"' for c in t.column_names())
                cur = con.execute(f'SELECT {cols} FROM "{t.name}" ORDER BY row_idx')
                for batch in cur.to_arrow_reader(65536):
                    yield t, batch
        finally:
            con.close()


def prepare(args: argparse.Namespace) -> None:
    from plurel_sql.config import Config
    from plurel_sql.generator.stream import DatabaseGenerator
    from plurel_sql.materialize.writer import write_database

    out = Path(args.dir)
    out.mkdir(parents=True, exist_ok=True)
    for name in args.configs.split(","):
        config = Config().override(database=CONFIGS[name]) if CONFIGS[name] else Config()
        duck = f"duckdb:///{out / f'{name}.duckdb'}"
        if not (out / f"{name}.duckdb").exists():
            t0 = time.perf_counter()
            src = DatabaseGenerator(config, args.seed, chunk_rows=65536)
            write_database(src, duck, seed=args.seed, config=config.to_dict())
            print(f"generated {name} into DuckDB in {time.perf_counter() - t0:.1f}s", flush=True)
        if args.pg_url:
            t0 = time.perf_counter()
            pg = _pg(args.pg_url, f"bench_{name}")
            write_database(DuckDBSource(duck), pg, seed=args.seed, config=config.to_dict(),
                           replace=True)  # fmt: skip
            print(f"copied {name} into PostgreSQL in {time.perf_counter() - t0:.1f}s", flush=True)


def sampler_options(engine: str) -> dict:
    """ContextDataset keywords of a sampler: the SQL one (the default) or a stand-in."""
    if engine == "sql":
        return {}
    sys.path.insert(0, str(TESTS))
    from standins.memory_walk import MemorySampler
    from standins.numpy_walk import NumpySampler

    return {"sampler": {"memory": MemorySampler, "numpy": NumpySampler}[engine]}


def measure(url: str, engine: str, workers: int, batches: int, seed: int) -> dict:
    """Contexts/s over ``batches`` batches after one warm-up batch (setup excluded)."""
    import torch
    from torch.utils.data import DataLoader

    from plurel_sql.loader import ContextDataset

    torch.set_num_threads(1)
    t0 = time.perf_counter()
    ds = ContextDataset(url, split="train", ctx_len=1024, max_width=128, batch_size=32,
                        seed=seed, **sampler_options(engine))  # fmt: skip
    setup = time.perf_counter() - t0
    loader = (
        DataLoader(ds, batch_size=None, num_workers=workers, prefetch_factor=4) if workers else ds
    )
    it = iter(loader)
    n = cells = 0
    first = next(it)
    load = os.getloadavg()[0]
    start, cpu0 = time.perf_counter(), time.process_time()
    first_latency = start - t0 - setup
    for _ in range(batches):
        try:
            b = next(it)
        except StopIteration:
            break
        n += len(b["task_idxs"])
        cells += int((~b["is_padding"]).sum())
    seconds = time.perf_counter() - start
    cpu = time.process_time() - cpu0
    del first
    return {
        "contexts_per_s": n / seconds,
        # this process's CPU time only: for workers=0 and DuckDB/memory that is all
        # of the sampling work (contexts per busy core, robust to a loaded machine)
        "contexts_per_cpu_s": n / cpu if cpu > 0 else float("nan"),
        "load_avg_1m": load,
        "contexts": n,
        "seconds": seconds,
        "mean_cells": cells / max(n, 1),
        "setup_s": setup,
        "first_batch_s": first_latency,
    }


def run(args: argparse.Namespace) -> None:
    from plurel_sql.loader import open_database

    out = Path(args.dir)
    rows = []
    for name in args.configs.split(","):
        duck = f"duckdb:///{out / f'{name}.duckdb'}"
        targets = [("duckdb", duck, "sql"), ("memory", duck, "memory"), ("numpy", duck, "numpy")]
        if args.pg_url:
            targets.insert(1, ("postgresql", _pg(args.pg_url, f"bench_{name}"), "sql"))
        wanted = args.samplers.split(",")
        targets = [t for t in targets if t[0] in wanted]
        db = open_database(duck)
        db.close()
        size = sum(t.num_rows for t in db.schema.tables)
        for label, url, engine in targets:
            for workers in [int(w) for w in args.workers.split(",")]:
                r = measure(url, engine, workers, args.batches, args.seed)
                r.update(config=name, engine=label, workers=workers, tables=len(db.schema.tables),
                         rows=size)  # fmt: skip
                rows.append(r)
                print(json.dumps(r), flush=True)
    lines = [
        "| config | tables | rows | sampler | workers | contexts/s (wall) "
        "| contexts per CPU-s (main process) | cells/context | load avg |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['config']} | {r['tables']} | {r['rows']:,} | {r['engine']} | "
            f"{r['workers'] or 'main process'} | {r['contexts_per_s']:.0f} | "
            f"{r['contexts_per_cpu_s']:.0f} | {r['mean_cells']:.0f} | {r['load_avg_1m']:.1f} |"
        )
    table = "\n".join(lines)
    print(table)
    meta = {"python": sys.version.split()[0], "machine": platform.machine(),
            "cpus": os.cpu_count(), "results": rows}  # fmt: skip
    (out / "bench_loader.json").write_text(json.dumps(meta, indent=2))
    (out / "bench_loader.md").write_text(table + "\n")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("prepare", "run"):
        s = sub.add_parser(name)
        s.add_argument("--dir", default="/tmp/plurel-bench")
        s.add_argument("--pg-url", default=os.environ.get("PLUREL_BENCH_PG_URL"))
        s.add_argument("--configs", default="default,large")
        s.add_argument("--seed", type=int, default=1)
        if name == "run":
            s.add_argument("--workers", default="0,2")
            s.add_argument("--batches", type=int, default=30)
            s.add_argument("--samplers", default="duckdb,postgresql,memory,numpy")
    args = p.parse_args()
    prepare(args) if args.cmd == "prepare" else run(args)


if __name__ == "__main__":
    pa.set_cpu_count(1)
    main()
