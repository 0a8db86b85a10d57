"""Which engine module serves a URL scheme: the dialect registry.

As SQLAlchemy resolves ``postgresql+psycopg://`` to a dialect class through its
registry, plurel-sql maps each URL scheme to an engine name and each engine name to
the module and class that hold everything engine-specific. Modules are imported
only when a URL of theirs is parsed, so nothing pays for engines it does not use.

An engine added later (or by a user) registers itself with one call::

    from plurel_sql.dialects import registry

    registry.register(
        "mysql", ("mysql", "mysql+pymysql"), "mypkg.mysql_dialect:MySQLDialect",
        example="mysql://USER:PASS@HOST/DB",
    )

The class must subclass :class:`plurel_sql.dialects.base.Dialect`.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from plurel_sql.dialects.base import Dialect


@dataclass(frozen=True)
class Entry:
    """One engine: its name, the URL schemes that select it, where its class lives
    (``"module:Class"``) and an example URL shown in error messages."""

    name: str
    schemes: tuple[str, ...]
    target: str
    example: str


_ENTRIES: dict[str, Entry] = {}
_SCHEMES: dict[str, str] = {}
_LOADED: dict[str, type[Dialect]] = {}


def register(name: str, schemes: tuple[str, ...], target: str, example: str) -> None:
    """Register (or replace) engine ``name`` for ``schemes`` (lower case, as written
    before ``://``)."""
    old = _ENTRIES.get(name)
    if old is not None:
        for scheme in old.schemes:
            _SCHEMES.pop(scheme, None)
    _ENTRIES[name] = Entry(name, tuple(schemes), target, example)
    _SCHEMES.update({scheme: name for scheme in schemes})
    _LOADED.pop(name, None)


def unregister(name: str) -> None:
    """Forget engine ``name`` (tests register throwaway engines)."""
    entry = _ENTRIES.pop(name, None)
    for scheme in entry.schemes if entry else ():
        _SCHEMES.pop(scheme, None)
    _LOADED.pop(name, None)


def engine_for_scheme(scheme: str) -> str | None:
    """The engine name registered for ``scheme``, or None."""
    return _SCHEMES.get(scheme.lower())


def dialect_class(name: str) -> type[Dialect]:
    """The dialect class of engine ``name`` (its module is imported on first use)."""
    cls = _LOADED.get(name)
    if cls is None:
        module, _, attr = _ENTRIES[name].target.partition(":")
        cls = getattr(importlib.import_module(module), attr)
        _LOADED[name] = cls
    return cls


def supported() -> str:
    """The registered URL forms, for error messages."""
    return ", ".join(entry.example for entry in _ENTRIES.values())


register("duckdb", ("duckdb",), "plurel_sql.dialects.duckdb:DuckDBDialect", "duckdb:///PATH")
register(
    "postgresql",
    ("postgresql", "postgresql+psycopg", "postgres"),
    "plurel_sql.dialects.postgresql:PostgreSQLDialect",
    "postgresql://USER:PASS@HOST:PORT/DB[?schema=NAME]",
)
register("sqlite", ("sqlite",), "plurel_sql.dialects.sqlite:SQLiteDialect", "sqlite:///PATH")
# folders of Parquet files (no SQL): the writer hands them the batch stream
register("relbench", ("relbench",), "plurel_sql.interop.target:RelBenchTarget", "relbench:///DIR")
register("parquet", ("parquet",), "plurel_sql.interop.target:ParquetTarget", "parquet:///DIR")
