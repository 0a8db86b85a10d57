"""Samplers' throughput and context fill, measured interleaved: ours before this
branch's fill change, ours now, and ``sampler="rustler"``.

    python benchmarks/bench_samplers.py --dir /tmp/plurel-bench --before efb1737

Needs the databases of ``bench_loader.py prepare`` (DuckDB). ``--before`` names a
commit whose ``plurel_sql/loader/walk.py`` (read with ``git show``) replaces the
walk of ours, to compare the old rule with the new one in the same process.
Rounds run the samplers in turn (A, B, C, A, B, C, ...) so machine load hits all
alike; each figure is contexts per CPU-second of this process (single process,
batch 32, ctx_len 1024, max_width 128, train split, after one warm-up batch),
the median over rounds, with the mean cells per context.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from plurel_sql.loader.sampler import DbSampler
from plurel_sql.loader.source import ContextSource


def old_sampler(commit: str) -> type[DbSampler]:
    """Our sampler with the walk of ``commit``."""
    repo = Path(__file__).resolve().parent.parent
    text = subprocess.run(
        ["git", "show", f"{commit}:plurel_sql/loader/walk.py"],
        cwd=repo, check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    path = Path(tempfile.mkdtemp()) / "walk_before.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location("walk_before", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)

    class Before(DbSampler):
        def walk(self, seeds):
            return mod.sql_walk(
                self.dialect, self.conn, self.layout, seeds, self.ctx_len, self.max_width
            )

    return Before


def measure(url: str, sampler, batches: int, seed: int) -> tuple[float, float]:
    src = ContextSource(url, None, "train", 1024, 128, 32, seed, sampler=sampler, prefetch=16)
    it = src.iter_batches(0)
    next(it)
    n = cells = 0
    cpu0 = time.process_time()
    for _ in range(batches):
        b = next(it, None)
        if b is None:
            break
        n += len(b["task_idxs"])
        cells += int((~b["is_padding"]).sum())
    cpu = time.process_time() - cpu0
    src.close()
    return n / cpu, cells / max(n, 1)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dir", default="/tmp/plurel-bench")
    p.add_argument("--configs", default="default,large")
    p.add_argument("--before", default="efb1737")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--batches", type=int, default=64)
    args = p.parse_args()
    samplers = {"plurel before": old_sampler(args.before), "plurel": "plurel", "rustler": "rustler"}
    print(f"load average before: {os.getloadavg()}")
    print("| config | sampler | contexts per CPU-s (median) | runs | cells/context |")
    print("|---|---|---|---|---|")
    for name in args.configs.split(","):
        url = f"duckdb:///{Path(args.dir) / f'{name}.duckdb'}"
        res: dict[str, list[tuple[float, float]]] = {k: [] for k in samplers}
        for r in range(args.rounds):
            for label, s in samplers.items():
                res[label].append(measure(url, s, args.batches, seed=r))
        for label, runs in res.items():
            rates = [x for x, _ in runs]
            print(
                f"| {name} | {label} | {statistics.median(rates):.0f} | "
                f"{', '.join(f'{x:.0f}' for x in rates)} | {np.mean([c for _, c in runs]):.0f} |",
                flush=True,
            )
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    sys.exit(main())
