"""``plurel-sql generate-many``: one database per seed, in parallel worker processes."""

from __future__ import annotations

import argparse
import sys

from plurel_sql.cli.options import add_rows_option, with_rows
from plurel_sql.config import load_config


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "generate-many", help="generate one database per seed, in parallel processes"
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
    p.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    p.add_argument("--chunk-rows", type=int, default=65536, help="rows per batch")
    p.add_argument("--replace", action="store_true", help="overwrite existing databases")
    p.add_argument("--quiet", action="store_true", help="print only failures")
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from plurel_sql.orchestrate.many import generate_many, parse_seeds

    seeds = parse_seeds(args.seeds)
    config = with_rows(load_config(args.config), args)
    total = len(seeds)
    finished = 0

    def report(result) -> None:
        nonlocal finished
        finished += 1
        if result.error:
            print(
                f"[{finished}/{total}] seed {result.seed}: FAILED: {result.error}", file=sys.stderr
            )
        elif not args.quiet:
            print(
                f"[{finished}/{total}] seed {result.seed}: {result.rows:,} rows, "
                f"{result.cells:,} cells -> {result.url} ({result.seconds:.1f}s)",
                file=sys.stderr,
            )

    results = generate_many(
        seeds,
        args.url_template,
        config,
        workers=args.workers,
        replace=args.replace,
        chunk_rows=args.chunk_rows,
        on_done=report,
        schema_sql=args.schema_sql,
    )
    failed = [r for r in results if r.error]
    if failed:
        print(f"{len(failed)} of {total} databases failed", file=sys.stderr)
        return 1
    return 0
