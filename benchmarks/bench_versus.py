"""This checkout against another one, interleaved: generation, end-to-end into DuckDB
and the loader, each run in a fresh process pinned to one CPU.

    python benchmarks/bench_versus.py --base-python /work/scratch/venv-base/bin/python \\
        --out /tmp/versus.jsonl

``--base-python`` is the interpreter of the other checkout's venv (an editable
install of it, e.g. a git worktree of an older commit); this script's own
interpreter runs this checkout. Every measurement alternates the two (which one
goes first alternates too), so a drift of the machine's speed hits both alike;
the summary gives medians and the ratio this/base.

- ``generate``: ``benchmarks/bench_generate.py default --child`` per seed (the
  generator alone, batches serialized to /dev/null), seeds 0..9 by default;
- ``end-to-end``: one database per seed generated and written into a fresh DuckDB
  file, as ``plurel-sql generate`` does (generation and loading overlapped);
- ``loader``: contexts/s of the SQL sampler in one process
  (``bench_loader.measure``: batch 32, ctx_len 1024, max_width 128, 96 batches =
  six 16-batch prefetch groups after the warm-up one) on the ``default`` and
  ``large`` databases of ``bench_loader.py`` (seed 1), each checkout reading a copy
  written by its own code (same rows).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def child_generate_end_to_end(seed: int, path: str, database: str = "default") -> dict:
    """One database (``bench_loader.CONFIGS[database]``) into a fresh DuckDB file with
    whichever API this checkout has."""
    sys.path.insert(0, str(HERE))
    from bench_loader import CONFIGS

    from plurel_sql.config import Config

    url = f"duckdb:///{path}"
    config = Config().override(database=CONFIGS[database])
    started = time.perf_counter()
    import plurel_sql

    if callable(getattr(plurel_sql, "generate", None)):
        result = plurel_sql.generate(url, seed, config)
    else:  # a checkout from before the public API
        from plurel_sql.materialize.job import generate_database

        _, result = generate_database(url, config, seed)
    wall = time.perf_counter() - started
    return {"seed": seed, "rows": result.rows, "cells": result.cells, "seconds": wall,
            "cells_per_s": result.cells / wall}  # fmt: skip


def child_loader(url: str, batches: int) -> dict:
    sys.path.insert(0, str(HERE))
    from bench_loader import measure

    return measure(url, "sql", workers=0, batches=batches, seed=1)


def run(python: str, cpu: int, *args: str) -> dict:
    """Run this script (or bench_generate.py) as a child of ``python`` on ``cpu``."""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    cmd = [python, *args] if cpu < 0 else ["taskset", "-c", str(cpu), python, *args]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def prepare_loader_db(python: str, directory: Path, name: str) -> str:
    """The bench_loader database ``name`` (seed 1) written by ``python``'s checkout."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.duckdb"
    if not path.exists():
        run(python, -1, __file__, "--child", "e2e", "1", str(path), name)
    return f"duckdb:///{path}"


def interleave(labels: list[str], step: int, measure) -> dict[str, dict]:
    """``measure(label)`` for both checkouts, the first one alternating with ``step``."""
    order = labels if step % 2 == 0 else list(reversed(labels))
    return {label: measure(label) for label in order}


def summarize(rows: list[dict]) -> str:
    """Medians per checkout, and the median over pairs (the two runs of one seed or
    round, taken back to back) of this/base: robust to the machine's load drifting."""
    lines = [
        "| measurement | pairs | base (median) | this (median) | this / base (median of pairs) |",
        "|---|---|---|---|---|",
    ]
    groups: dict[tuple[str, str], dict[int, dict[str, float]]] = {}
    for r in rows:
        pairs = groups.setdefault((r["section"], r["metric"]), {})
        pairs.setdefault(r["pair"], {})[r["checkout"]] = r["value"]
    for (section, metric), pairs in groups.items():
        whole = [p for p in pairs.values() if len(p) == 2]
        base = statistics.median(p["base"] for p in whole)
        this = statistics.median(p["this"] for p in whole)
        ratio = statistics.median(p["this"] / p["base"] for p in whole)
        lines.append(
            f"| {section}: {metric} | {len(whole)} | {base:,.0f} | {this:,.0f} | {ratio:.3f} |"
        )
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--base-python", help="python of the other checkout's venv (required)")
    p.add_argument("--seeds", default="0-9", help="generation and end-to-end seeds (a-b)")
    p.add_argument("--loader-rounds", type=int, default=5)
    p.add_argument("--loader-batches", type=int, default=96)
    p.add_argument("--loader-configs", default="default,large")
    p.add_argument("--sections", default="generate,end-to-end,loader")
    p.add_argument("--dir", default=None, help="work directory (default: a temporary one)")
    p.add_argument("--cpu", type=int, default=0)
    p.add_argument("--out", help="append JSON lines here")
    p.add_argument("--summarize", metavar="LOG", help="print the table of a --out log")
    p.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        kind, *rest = args.child
        if kind == "e2e":
            print(json.dumps(child_generate_end_to_end(int(rest[0]), *rest[1:])))
        else:
            print(json.dumps(child_loader(rest[0], int(rest[1]))))
        return
    if args.summarize:
        print(summarize([json.loads(x) for x in Path(args.summarize).read_text().splitlines()]))
        return
    if not args.base_python:
        p.error("--base-python is required")
    pythons = {"base": args.base_python, "this": sys.executable}
    lo, hi = (int(x) for x in args.seeds.split("-"))
    work = Path(args.dir or tempfile.mkdtemp(prefix="plurel-versus-"))
    work.mkdir(parents=True, exist_ok=True)
    rows: list[dict] = []

    def record(section: str, metric: str, label: str, value: float, **extra) -> None:
        row = {"section": section, "metric": metric, "checkout": label, "value": value, **extra}
        rows.append(row)
        print(json.dumps(row), flush=True)
        if args.out:
            with open(args.out, "a") as fh:
                fh.write(json.dumps(row) + "\n")

    sections = args.sections.split(",")
    labels = list(pythons)
    for step, seed in enumerate(range(lo, hi + 1)):
        if "generate" in sections:

            def generate(label: str, s: int = seed) -> dict:
                script = str(HERE / "bench_generate.py")
                return run(
                    pythons[label], args.cpu, script, "default", "--seeds", str(s), "--child"
                )

            for label, r in interleave(labels, step, generate).items():
                record("generate", "cells/s", label, r["cells_per_s"], pair=seed)
        if "end-to-end" in sections:

            def e2e(label: str, s: int = seed) -> dict:
                path = work / f"e2e-{label}-{s}.duckdb"
                path.unlink(missing_ok=True)
                return run(pythons[label], args.cpu, __file__, "--child", "e2e", str(s), str(path))

            for label, r in interleave(labels, step + 1, e2e).items():
                record("end-to-end duckdb", "cells/s", label, r["cells_per_s"], pair=seed)
    if "loader" in sections:
        for name in args.loader_configs.split(","):
            urls = {
                label: prepare_loader_db(py, work / label, name) for label, py in pythons.items()
            }

            def loader(label: str, urls: dict[str, str] = urls) -> dict:
                batches = str(args.loader_batches)
                return run(
                    pythons[label], args.cpu, __file__, "--child", "loader", urls[label], batches
                )

            for step in range(args.loader_rounds):
                for label, r in interleave(labels, step, loader).items():
                    record(f"loader {name}", "contexts/s", label, r["contexts_per_s"], pair=step)
                    cpu = r["contexts_per_cpu_s"]
                    record(f"loader {name}", "contexts per CPU-s", label, cpu, pair=step)
    print(summarize(rows))


if __name__ == "__main__":
    main()
