"""Generator benchmarks (issue 2): cells/s and peak memory on one core.

    python benchmarks/bench_generate.py default --seeds 0-9
    python benchmarks/bench_generate.py large --seeds 0-2
    python benchmarks/bench_generate.py stream10m --seeds 6
    python benchmarks/bench_generate.py default --seeds 0-29 --versus OLD_CHECKOUT
    python benchmarks/bench_generate.py default --seeds 0-9 --versus OLD_CHECKOUT --repeat 3
    python benchmarks/bench_generate.py tpch-sf --seeds 0-4 --interleave default

Every seed runs in a fresh child process pinned to CPU 0 with single-threaded BLAS,
so each line's peak RSS (ru_maxrss of that process) and time are its own. Batches are
serialized with Arrow IPC into /dev/null, so the figure includes producing the Arrow
batches a loader would receive. ``cells`` counts every stored cell: rows x columns,
keys and timestamps included; ``edge_rows`` the rows x causal-graph edges computed,
the work behind them (seeds give other databases in other versions, so with
``--versus`` the time per edge-row is the like-for-like figure).

Configurations:
- ``default``: the method's defaults.
- ``large``: 8 tables, entity tables 20,000 rows, activity tables 100,000 rows.
- ``stream10m``: a memory test: 4 tables whose activity tables have 10,000,000 rows
  each (entity tables 1,000 rows, 3-8 features, sparse causal graphs so it finishes
  in minutes; memory, not speed, is what it measures). Seed 6 gives two such
  tables (20 M rows); most seeds give one.
- ``tpch``: the TPC-H-shaped schema of fixtures/schemas/tpch.sql (typed and text
  columns, plausible values) with the default row counts of its tables' roles.
- ``tpch-sf``: the same schema at TPC-H's proportions for scale factor 0.01
  (lineitem 60,000 rows, orders 15,000, partsupp 8,000, ...).

``--interleave OTHER`` runs each seed with OTHER and with the given configuration,
alternately, and compares the medians (issue 12: a TPC-H-shaped schema's cells/s
against the default random schemas', in one run).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

CONFIGS = {
    "default": {},
    "large": {
        "database": {
            "num_tables": [8, 8],
            "entity_rows": [20_000, 20_000],
            "activity_rows": [100_000, 100_000],
        }
    },
    "stream10m": {
        "database": {
            "num_tables": [4, 4],
            "table_layouts": ["BarabasiAlbert"],
            "entity_rows": [1_000, 1_000],
            "activity_rows": [10_000_000, 10_000_000],
            "feature_columns": [3, 8],
        },
        "scm": {"layouts": ["RandomTree", "ReverseRandomTree", "BarabasiAlbert"]},
    },
}


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TPCH = os.path.join(ROOT, "fixtures", "schemas", "tpch.sql")
TPCH_SF001 = {
    "region": 5,
    "nation": 25,
    "supplier": 100,
    "customer": 1_500,
    "part": 2_000,
    "partsupp": 8_000,
    "orders": 15_000,
    "lineitem": 60_000,
}
CONFIGS["tpch"] = {}
CONFIGS["tpch-sf"] = {"rows": TPCH_SF001}
#: configurations whose schema is a DDL file instead of a random one
SCHEMA_FILES = {"tpch": TPCH, "tpch-sf": TPCH}


def count_edge_rows() -> list[int]:
    """From now on, the edge-rows (rows x causal-graph edges computed) of every table
    this process generates: the work a database takes, which differs from seed to
    seed and from version to version. Counted by wrapping the generator's plan_scm
    (an empty list if that does not exist in the package being measured)."""
    import plurel_sql.generator.stream as stream_module

    counts: list[int] = []
    plan = getattr(stream_module, "plan_scm", None)
    if plan is None:
        return counts

    def counting(table, *args, **kwargs):
        scm = plan(table, *args, **kwargs)
        counts.append(table.num_rows * len(scm.edge_encoders))
        return scm

    stream_module.plan_scm = counting
    return counts


def run_one(config_name: str, seed: int) -> dict:
    """Generate one database in this process and return its figures."""
    import resource
    import time

    import pyarrow as pa

    from plurel_sql.config import Config
    from plurel_sql.generator.stream import DatabaseGenerator

    config = Config.from_dict(CONFIGS[config_name])
    edge_rows = count_edge_rows()
    start = time.perf_counter()
    cpu = time.process_time()
    schema = None
    if config_name in SCHEMA_FILES:
        from plurel_sql.schema.from_sql import schema_from_sql

        schema = schema_from_sql(SCHEMA_FILES[config_name], config, seed)
    gen = DatabaseGenerator(config, seed, schema=schema)
    rows = cells = 0
    writers: dict[str, pa.ipc.RecordBatchStreamWriter] = {}
    with open(os.devnull, "wb") as sink:
        for table, batch in gen.batches():
            if table.name not in writers:
                writers[table.name] = pa.ipc.new_stream(sink, batch.schema)
            writers[table.name].write_batch(batch)
            rows += batch.num_rows
            cells += batch.num_rows * batch.num_columns
        for writer in writers.values():
            writer.close()
    seconds = time.perf_counter() - start
    return {
        "config": config_name,
        "seed": seed,
        "tables": len(gen.final_schema.tables),
        "rows": rows,
        "cells": cells,
        "seconds": round(seconds, 3),
        "cpu_seconds": round(time.process_time() - cpu, 3),
        "cells_per_s": round(cells / seconds),
        "edge_rows": sum(edge_rows),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def parse_seeds(text: str) -> list[int]:
    if "-" in text:
        lo, hi = text.split("-")
        return list(range(int(lo), int(hi) + 1))
    return [int(s) for s in text.split(",")]


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    return {
        **os.environ,
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        **(extra or {}),
    }


def run_child(config: str, seed: int, cpu: int, checkout: str | None = None) -> dict:
    """One seed in a fresh process pinned to ``cpu``; with ``checkout``, this script
    on the plurel_sql of that directory (put first on PYTHONPATH)."""
    cmd = [
        "taskset",
        "-c",
        str(cpu),
        sys.executable,
        __file__,
        config,
        "--seeds",
        str(seed),
        "--child",
    ]
    env = child_env({"PYTHONPATH": os.path.abspath(checkout)} if checkout else None)
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def interleave(config: str, seeds: list[int], cpu: int, other: str) -> None:
    """Each seed with configuration ``other`` then ``config`` (fresh processes), so
    drifts of the machine's speed hit both alike; prints both medians and their
    ratio."""
    results: dict[str, list[dict]] = {other: [], config: []}
    for seed in seeds:
        for name in (other, config):
            results[name].append(run_child(name, seed, cpu))
        a, b = results[other][-1], results[config][-1]
        print(
            f"seed {seed}: {other} {a['cells']:>10,} cells {a['seconds']:>6.2f} s "
            f"{a['cells_per_s']:>9,} cells/s | {config} {b['cells']:>10,} cells "
            f"{b['seconds']:>6.2f} s {b['cells_per_s']:>9,} cells/s",
            flush=True,
        )
    medians = {n: statistics.median(r["cells_per_s"] for r in rows) for n, rows in results.items()}
    for name, rows in results.items():
        rss = statistics.median(r["peak_rss_mb"] for r in rows)
        print(f"{name}: median {medians[name]:,.0f} cells/s, peak RSS median {rss:.0f} MB")
    print(f"ratio {config} / {other}: {medians[config] / medians[other]:.2f}")


def compare(config: str, seeds: list[int], cpu: int, other: str, repeat: int = 1) -> None:
    """Each seed with ``other`` then with this checkout, so drifts of the machine's
    speed hit both alike; with ``repeat`` > 1 each seed runs that many times per
    checkout, alternating, and its fastest run counts (others' work on a shared
    machine only ever slows a run down). Prints both medians and the total time."""
    results: dict[str, list[dict]] = {other: [], "this checkout": []}
    for seed in seeds:
        runs: dict[str, list[dict]] = {other: [], "this checkout": []}
        for _ in range(repeat):
            runs[other].append(run_child(config, seed, cpu, other))
            runs["this checkout"].append(run_child(config, seed, cpu))
        for name, tries in runs.items():
            results[name].append(min(tries, key=lambda r: r["seconds"]))
        print(
            f"seed {seed}: {results[other][-1]['cells_per_s']:>9} vs "
            f"{results['this checkout'][-1]['cells_per_s']:>9} cells/s",
            flush=True,
        )
    for name, rows in results.items():
        cells_per_s = statistics.median(r["cells_per_s"] for r in rows)
        seconds = statistics.median(r["seconds"] for r in rows)
        total = sum(r["cells"] for r in rows) / sum(r["seconds"] for r in rows)
        edge_rows = sum(r["edge_rows"] for r in rows)
        per_edge_row = sum(r["seconds"] for r in rows) / max(edge_rows, 1) * 1e9
        print(
            f"{name}: median {cells_per_s:,.0f} cells/s, {seconds:.2f} s per database; "
            f"all seeds together {total:,.0f} cells/s, {edge_rows / 1e6:.1f} M edge-rows, "
            f"{per_edge_row:.0f} ns per edge-row"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", choices=sorted(CONFIGS))
    parser.add_argument("--seeds", default="0-9", help="e.g. 0-9 or 0,3,5")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", help="append JSON lines here")
    parser.add_argument("--cpu", type=int, default=0, help="CPU to pin the children to")
    parser.add_argument(
        "--repeat", type=int, default=1, help="with --versus: runs per seed and checkout (best)"
    )
    parser.add_argument(
        "--versus",
        metavar="DIR",
        help="another checkout (e.g. a git worktree of an older commit): run each seed "
        "with it and with this one, alternately, and compare the medians",
    )
    parser.add_argument(
        "--interleave",
        metavar="CONFIG",
        choices=sorted(CONFIGS),
        help="run each seed with this other configuration too, alternately, and compare",
    )
    args = parser.parse_args()
    if args.interleave:
        interleave(args.config, parse_seeds(args.seeds), args.cpu, args.interleave)
        return
    if args.child:
        print(json.dumps(run_one(args.config, parse_seeds(args.seeds)[0])))
        return
    if args.versus:
        compare(args.config, parse_seeds(args.seeds), args.cpu, args.versus, args.repeat)
        return
    results = []
    header = (
        f"{'seed':>4} {'tables':>6} {'rows':>10} {'cells':>11} {'s':>8} {'cpu s':>8} "
        f"{'cells/s':>9} {'RSS MB':>7}"
    )
    print(f"config={args.config}  (one core: taskset -c {args.cpu}, single-threaded BLAS)")
    print(header)
    for seed in parse_seeds(args.seeds):
        r = run_child(args.config, seed, args.cpu)
        results.append(r)
        print(
            f"{seed:>4} {r['tables']:>6} {r['rows']:>10} {r['cells']:>11} {r['seconds']:>8.2f} "
            f"{r['cpu_seconds']:>8.2f} {r['cells_per_s']:>9} {r['peak_rss_mb']:>7}",
            flush=True,
        )
        if args.out:
            with open(args.out, "a") as fh:
                fh.write(json.dumps(r) + "\n")

    def med(key: str) -> float:
        return statistics.median(r[key] for r in results)

    print(
        f"{'med':>4} {med('tables'):>6.0f} {med('rows'):>10.0f} {med('cells'):>11.0f} "
        f"{med('seconds'):>8.2f} {med('cpu_seconds'):>8.2f} {med('cells_per_s'):>9.0f} "
        f"{med('peak_rss_mb'):>7.1f}"
    )


if __name__ == "__main__":
    main()
