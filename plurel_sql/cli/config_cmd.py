"""``plurel-sql config``: print or check a configuration."""

from __future__ import annotations

import argparse

from plurel_sql.config import load_config


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("config", help="print the default configuration or check a file")
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--defaults", action="store_true", help="print the defaults as TOML")
    group.add_argument("--check", metavar="FILE", help="validate FILE and print it resolved")
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    config = load_config(None if args.defaults else args.check)
    print(config.to_toml(), end="")
    return 0
