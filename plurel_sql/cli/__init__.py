"""The ``plurel-sql`` command line.

Each sub-command lives in its own module exposing ``register(subparsers)``; this
module only builds the parser and turns library errors into one-line messages.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence

from plurel_sql import __version__
from plurel_sql.errors import PlurelError

# Modules providing sub-commands, in the order they appear in --help.
COMMAND_MODULES = (
    "plurel_sql.cli.config_cmd",
    "plurel_sql.cli.db_cmds",
    "plurel_sql.cli.many_cmd",
    "plurel_sql.cli.interop_cmds",
    "plurel_sql.cli.loader_cmds",
)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, like every other error
        # argparse quotes what it could not parse, which may be a URL with a password
        from plurel_sql.dialects import scrub

        self.exit(2, f"{self.prog}: error: {scrub(message, None)}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="plurel-sql",
        description="Synthesize relational databases (PluRel) into DuckDB, PostgreSQL or SQLite.",
    )
    parser.add_argument("--version", action="version", version=f"plurel-sql {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    subparsers.required = True
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # sub-command not built yet
                continue
            raise
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _show_notes(quiet=getattr(args, "quiet", False))
    try:
        return int(args.handler(args) or 0)
    except PlurelError as exc:
        for line in str(exc).splitlines() or [""]:  # a schema's problems: one line each
            print(f"plurel-sql: error: {line}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("plurel-sql: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # output piped into e.g. `head` that stopped reading: end quietly, as
        # Unix tools do (redirect stdout so the interpreter's final flush is silent)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141


def _show_notes(quiet: bool) -> None:
    """Notes of the library (e.g. DDL statements ignored) as ``plurel-sql: note:`` lines."""
    logger = logging.getLogger("plurel_sql")
    if quiet or any(getattr(h, "plurel_cli", False) for h in logger.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("plurel-sql: note: %(message)s"))
    handler.plurel_cli = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)


if __name__ == "__main__":
    sys.exit(main())
