"""``plurel-sql export`` and ``import``: databases to and from folders of Parquet files
(RelBench v3 or plain; docs/relbench.md)."""

from __future__ import annotations

import argparse
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    e = subparsers.add_parser(
        "export", help="write a generated database as a RelBench v3 or Parquet folder"
    )
    e.add_argument("url", help="database URL (written by plurel-sql: it holds plurel_meta)")
    e.add_argument("directory", metavar="DIR", help="folder to write (created atomically)")
    e.add_argument(
        "--format",
        choices=("relbench", "parquet"),
        default="relbench",
        help="relbench: manifest.yaml, db/*.parquet, tasks/ (default); parquet: plain files",
    )
    e.add_argument("--replace", action="store_true", help="overwrite an earlier export")
    e.add_argument("--quiet", action="store_true", help="no progress output")
    e.set_defaults(handler=_export)

    i = subparsers.add_parser(
        "import", help="load a RelBench or Parquet folder into an engine, keys enforced"
    )
    i.add_argument("directory", metavar="DIR", help="RelBench dataset or plurel-sql folder")
    i.add_argument("--url", required=True, help="target database URL")
    i.add_argument("--pg-schema", metavar="NAME", help="PostgreSQL schema (overrides ?schema=)")
    i.add_argument("--replace", action="store_true", help="overwrite tables of the same names")
    i.add_argument("--quiet", action="store_true", help="no progress output")
    i.set_defaults(handler=_import)


def _export(args: argparse.Namespace) -> int:
    from plurel_sql.interop.export import export
    from plurel_sql.materialize.progress import make_progress

    result = export(
        args.url,
        args.directory,
        args.format,
        replace=args.replace,
        progress=make_progress(args.quiet),
    )
    if not args.quiet:
        print(
            f"exported {len(result.row_counts)} tables, {result.rows:,} rows as {args.format} "
            f"to {args.directory} in {result.total_seconds:.2f}s",
            file=sys.stderr,
        )
    return 0


def _import(args: argparse.Namespace) -> int:
    from plurel_sql.interop.importer import import_folder
    from plurel_sql.materialize.progress import make_progress

    result = import_folder(
        args.directory,
        args.url,
        replace=args.replace,
        pg_schema=args.pg_schema,
        progress=make_progress(args.quiet),
    )
    if not args.quiet:
        print(
            f"imported {len(result.row_counts)} tables, {result.rows:,} rows into "
            f"{result.where} in {result.total_seconds:.2f}s",
            file=sys.stderr,
        )
    return 0
