"""``plurel-sql generate``, ``verify`` and ``describe``: databases from and at a URL."""

from __future__ import annotations

import argparse
import sys

from plurel_sql.config import load_config
from plurel_sql.errors import PlurelError

# The engines' modules load inside the handlers, so --help and config stay instant.
DEFAULT_URL = "duckdb:///plurel.duckdb"


def register(subparsers: argparse._SubParsersAction) -> None:
    g = subparsers.add_parser("generate", help="generate one database into a SQL engine")
    g.add_argument("--seed", type=int, required=True, help="database seed (non-negative)")
    g.add_argument(
        "--url",
        default=DEFAULT_URL,
        help=f"target database (default {DEFAULT_URL}; also postgresql://..., sqlite:///...)",
    )
    g.add_argument("--config", metavar="FILE", help="TOML configuration (default: defaults)")
    g.add_argument(
        "--schema-sql", metavar="FILE", help="use this file's CREATE TABLE schema (tables, keys)"
    )
    g.add_argument("--chunk-rows", type=int, default=65536, help="rows per batch (memory bound)")
    g.add_argument("--replace", action="store_true", help="overwrite tables of the same names")
    g.add_argument("--pg-schema", metavar="NAME", help="PostgreSQL schema (overrides ?schema=)")
    g.add_argument("--quiet", action="store_true", help="no progress output")
    g.set_defaults(handler=_generate)

    v = subparsers.add_parser("verify", help="re-check keys, row counts and checksums")
    v.add_argument("url", help="database URL")
    v.add_argument("--quiet", action="store_true", help="print only problems")
    v.set_defaults(handler=_verify)

    d = subparsers.add_parser("describe", help="tables, keys and columns, or an ER diagram")
    d.add_argument("url", help="database URL")
    d.add_argument("--format", choices=("text", "mermaid", "dot"), default="text")
    d.set_defaults(handler=_describe)


def _generate(args: argparse.Namespace) -> int:
    if args.seed < 0:
        raise PlurelError(f"--seed must be a non-negative integer, got {args.seed}")
    if args.chunk_rows < 1:
        raise PlurelError(f"--chunk-rows must be positive, got {args.chunk_rows}")
    config = load_config(args.config)
    from plurel_sql.materialize.progress import make_progress  # heavy imports after checks
    from plurel_sql.orchestrate.job import generate

    result = generate(
        args.url,
        args.seed,
        config,
        chunk_rows=args.chunk_rows,
        replace=args.replace,
        schema_sql=args.schema_sql,
        pg_schema=args.pg_schema,
        progress=make_progress(args.quiet),
    )
    if not args.quiet:
        print(
            f"wrote {len(result.row_counts)} tables, {result.rows:,} rows, {result.cells:,} cells "
            f"to {result.where} in {result.total_seconds:.2f}s "
            f"({result.rows / max(result.total_seconds, 1e-9):,.0f} rows/s)",
            file=sys.stderr,
        )
    return 0


def _verify(args: argparse.Namespace) -> int:
    from plurel_sql.materialize.verify import verify_database

    report = verify_database(args.url)
    for problem in report.problems:
        print(f"problem: {problem}")
    if report.ok:
        if not args.quiet:
            print(f"ok: {report.url}: {report.tables} tables, {report.rows:,} rows verified")
        return 0
    print(f"FAILED: {report.url}: {len(report.problems)} problem(s)", file=sys.stderr)
    return 1


def _describe(args: argparse.Namespace) -> int:
    from plurel_sql.dialects import using_engine
    from plurel_sql.materialize.describe import describe
    from plurel_sql.materialize.meta import read_meta

    with using_engine(args.url) as engine:  # one parse, one read-only connection
        meta = read_meta(engine)
    print(describe(meta, args.format, engine.url.masked))
    return 0
