"""Options shared by the commands that generate databases."""

from __future__ import annotations

import argparse

from plurel_sql.config import Config


def add_rows_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--rows",
        metavar="TABLE=N,...",
        help="row counts of named tables of the schema (over the configuration's [rows])",
    )


def with_rows(config: Config, args: argparse.Namespace) -> Config:
    """``config`` with the ``--rows`` counts (validated: one-line errors)."""
    if not args.rows:
        return config
    from plurel_sql.values.overrides import parse_rows_option

    return config.override(rows=parse_rows_option(args.rows))
