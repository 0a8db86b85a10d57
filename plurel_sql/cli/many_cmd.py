"""``plurel-sql generate-many``: one database per seed, a resumable fleet over local
worker processes or Ray (docs/fleets.md)."""

from __future__ import annotations

import argparse
import sys
import time

from plurel_sql.cli.options import add_rows_option, with_rows
from plurel_sql.config import load_config


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "generate-many", help="generate one database per seed (resumable; local or Ray)"
    )
    p.add_argument("--seeds", required=True, help="e.g. 0-99 or 0,5,9")
    p.add_argument(
        "--url-template",
        required=True,
        help="target URL with {seed}, e.g. duckdb:///dbs/seed_{seed}.duckdb or "
        "postgresql://u@host/db?schema=seed_{seed}",
    )
    p.add_argument("--config", metavar="FILE", help="TOML configuration (default: defaults)")
    p.add_argument("--schema-sql", metavar="FILE", help="use this file's CREATE TABLE schema")
    add_rows_option(p)
    p.add_argument(
        "--executor", choices=("local", "ray"), default="local", help="local processes or Ray"
    )
    p.add_argument(
        "--ray-address", metavar="ADDR", help="Ray cluster to join (default: start a local Ray)"
    )
    p.add_argument("--workers", type=int, default=1, help="worker processes / local Ray CPUs")
    p.add_argument("--ledger", metavar="FILE", help="ledger file (default: next to the outputs)")
    p.add_argument("--chunk-rows", type=int, default=65536, help="rows per batch")
    p.add_argument("--replace", action="store_true", help="regenerate every seed")
    p.add_argument("--quiet", action="store_true", help="print only failures and the summary")
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from plurel_sql.orchestrate.many import generate_many, parse_seeds

    seeds = parse_seeds(args.seeds)
    config = with_rows(load_config(args.config), args)
    console = Console(stderr=True)
    bar = Progress(
        TextColumn("[bold]generate-many"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[note]}"),
        TimeElapsedColumn(),
        console=console,
        disable=args.quiet or not console.is_terminal,
    )
    task = bar.add_task("fleet", total=len(seeds), note="")
    started = time.perf_counter()

    def report(result) -> None:
        bar.update(task, advance=1, note=f"seed {result.seed}: {result.status}")
        if result.status == "failed":
            bar.console.print(f"seed {result.seed}: FAILED: {result.error}", markup=False)
        elif not args.quiet and not console.is_terminal:
            print(
                f"seed {result.seed}: {result.status}, {result.rows:,} rows -> {result.url}",
                file=sys.stderr,
            )

    with bar:
        results = generate_many(
            seeds,
            args.url_template,
            config,
            workers=args.workers,
            replace=args.replace,
            chunk_rows=args.chunk_rows,
            on_done=report,
            schema_sql=args.schema_sql,
            executor=args.executor,
            ray_address=args.ray_address,
            ledger=args.ledger,
        )
    seconds = time.perf_counter() - started
    counts = {s: sum(r.status == s for r in results) for s in ("done", "skipped", "failed")}
    cells = sum(r.cells for r in results)
    print(
        f"{len(results)} seeds: {counts['done']} done, {counts['skipped']} skipped, "
        f"{counts['failed']} failed in {seconds:.1f}s ({cells / max(seconds, 1e-9):,.0f} cells/s)",
        file=sys.stderr,
    )
    return 1 if counts["failed"] else 0
