"""``plurel-sql generate``, ``verify`` and ``describe``: databases from and at a URL."""

from __future__ import annotations

import argparse
import sys

from plurel_sql.cli.options import add_rows_option, with_rows
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
        "--schema-sql", metavar="FILE", help="use this DDL file's schema (never executed)"
    )
    g.add_argument(
        "--schema-dialect",
        metavar="NAME",
        help="dialect of --schema-sql: postgresql, duckdb, sqlite or mysql "
        "(default: mysql if the file uses `backticks`, else postgresql)",
    )
    g.add_argument(
        "--schema-from",
        metavar="SOURCE",
        help="use the schema of a live database (URL) or of SQLAlchemy models "
        "(package.module:metadata or a declarative Base)",
    )
    _load_options(g)
    g.add_argument("--replace", action="store_true", help="overwrite tables of the same names")
    g.set_defaults(handler=_generate)

    f = subparsers.add_parser(
        "fill", help="fill the existing empty tables of a database in place, atomically"
    )
    f.add_argument("url", help="database URL whose tables to fill (their DDL is kept as is)")
    f.add_argument("--seed", type=int, default=0, help="database seed (default 0)")
    f.add_argument("--config", metavar="FILE", help="TOML configuration (default: defaults)")
    f.add_argument(
        "--alembic-config",
        metavar="INI",
        help="first upgrade the database to head with these Alembic migrations",
    )
    _load_options(f)
    f.add_argument("--replace", action="store_true", help="overwrite a previous plurel_meta")
    f.set_defaults(handler=_fill)

    v = subparsers.add_parser("verify", help="re-check keys, row counts and checksums")
    v.add_argument("url", help="database URL")
    v.add_argument("--quiet", action="store_true", help="print only problems")
    v.set_defaults(handler=_verify)

    d = subparsers.add_parser("describe", help="tables, keys and columns, or an ER diagram")
    d.add_argument("url", help="database URL")
    d.add_argument("--format", choices=("text", "mermaid", "dot"), default="text")
    d.set_defaults(handler=_describe)


def _load_options(p: argparse.ArgumentParser) -> None:
    add_rows_option(p)
    p.add_argument("--chunk-rows", type=int, default=65536, help="rows per batch (memory bound)")
    p.add_argument("--pg-schema", metavar="NAME", help="PostgreSQL schema (overrides ?schema=)")
    p.add_argument("--quiet", action="store_true", help="no progress output")


def _check_args(args: argparse.Namespace) -> None:
    if args.seed < 0:
        raise PlurelError(f"--seed must be a non-negative integer, got {args.seed}")
    if args.chunk_rows < 1:
        raise PlurelError(f"--chunk-rows must be positive, got {args.chunk_rows}")


def _fill(args: argparse.Namespace) -> int:
    return _write(args, fill=True)


def _generate(args: argparse.Namespace) -> int:
    return _write(args, fill=False)


def _write(args: argparse.Namespace, fill: bool) -> int:
    """generate (a new database at --url) or fill (the tables already at the URL)."""
    _check_args(args)
    config = with_rows(load_config(args.config), args)
    from plurel_sql.materialize.progress import make_progress  # heavy imports after checks
    from plurel_sql.orchestrate import job

    common = {
        "chunk_rows": args.chunk_rows,
        "replace": args.replace,
        "pg_schema": args.pg_schema,
        "progress": make_progress(args.quiet),
    }
    if fill:
        result = job.fill(args.url, args.seed, config, alembic_config=args.alembic_config, **common)
    else:
        result = job.generate(
            args.url,
            args.seed,
            config,
            schema_sql=args.schema_sql,
            schema_dialect=args.schema_dialect,
            schema_from=args.schema_from,
            **common,
        )
    if not args.quiet:
        print(
            f"{'filled' if fill else 'wrote'} {len(result.row_counts)} tables, {result.rows:,} "
            f"rows, {result.cells:,} cells {'in' if fill else 'to'} {result.where} in "
            f"{result.total_seconds:.2f}s "
            f"({result.rows / max(result.total_seconds, 1e-9):,.0f} rows/s)",
            file=sys.stderr,
        )
    return 0


def _verify(args: argparse.Namespace) -> int:
    from plurel_sql.materialize.verify import verify_database

    report = verify_database(args.url)
    for note in report.notes:
        print(f"note: {note}", file=sys.stderr)
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
