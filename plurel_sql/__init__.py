"""plurel-sql: synthetic relational databases (PluRel) written into real SQL engines.

The public API (docs/api.md); every other module is internal::

    import plurel_sql

    plurel_sql.generate("duckdb:///shop.duckdb", seed=0)           # one database, atomically
    plurel_sql.generate("duckdb:///mine.duckdb", 0, schema_sql="schema.sql")  # your schema
    plurel_sql.fill("postgresql://u@host/app", seed=0)            # your empty tables, in place
    plurel_sql.generate_many("0-9", "duckdb:///dbs/db_{seed}.duckdb", workers=2)
    report = plurel_sql.verify("duckdb:///shop.duckdb")            # keys, counts, checksums
    plurel_sql.export("duckdb:///shop.duckdb", "shop_rb")          # a RelBench v3 folder
    plurel_sql.import_folder("shop_rb", "sqlite:///shop.sqlite")   # ... into an engine
    db = plurel_sql.open_database("duckdb:///shop.duckdb")         # read it back
    db.tasks()                                                     # masked-cell tasks
    ds = plurel_sql.ContextDataset([...], split="train")           # torch batches
    gen = plurel_sql.DatabaseGenerator(plurel_sql.default_config(), seed=0)
    for table, batch in gen.batches(): ...                         # Arrow, no database

Names load on first use, so ``import plurel_sql`` imports nothing heavy and never
torch (only ``ContextDataset`` needs it).
"""

from __future__ import annotations

from typing import Any

__version__ = "0.6.0"

# public name -> (module, attribute); the module is imported on first access.
# __init__.pyi spells out the same names for static tools (IDEs, type checkers).
_PUBLIC: dict[str, tuple[str, str]] = {
    "generate": ("plurel_sql.orchestrate.job", "generate"),
    "fill": ("plurel_sql.orchestrate.job", "fill"),
    "generate_many": ("plurel_sql.orchestrate.many", "generate_many"),
    "SeedResult": ("plurel_sql.orchestrate.many", "SeedResult"),
    "WriteResult": ("plurel_sql.materialize.writer", "WriteResult"),
    "DatabaseGenerator": ("plurel_sql.generator.stream", "DatabaseGenerator"),
    "open_database": ("plurel_sql.loader.meta", "open_database"),
    "Database": ("plurel_sql.loader.meta", "Database"),
    "Task": ("plurel_sql.loader.tasks", "Task"),
    "ContextDataset": ("plurel_sql.loader.dataset", "ContextDataset"),
    "verify": ("plurel_sql.materialize.verify", "verify_database"),
    "export": ("plurel_sql.interop.export", "export"),
    "import_folder": ("plurel_sql.interop.importer", "import_folder"),
    "VerifyReport": ("plurel_sql.materialize.verify", "VerifyReport"),
    "Config": ("plurel_sql.config", "Config"),
    "default_config": ("plurel_sql.config", "default_config"),
    "load_config": ("plurel_sql.config", "load_config"),
    "PlurelError": ("plurel_sql.errors", "PlurelError"),
    "ConfigError": ("plurel_sql.errors", "ConfigError"),
    "SchemaError": ("plurel_sql.errors", "SchemaError"),
    "DatabaseError": ("plurel_sql.errors", "DatabaseError"),
    "VerificationError": ("plurel_sql.errors", "VerificationError"),
}

__all__ = ["__version__", *_PUBLIC]  # spelled out for static tools in __init__.pyi


def __getattr__(name: str) -> Any:
    try:
        module, attribute = _PUBLIC[name]
    except KeyError:
        raise AttributeError(f"module 'plurel_sql' has no attribute {name!r}") from None
    import importlib

    value = importlib.import_module(module)
    return getattr(value, attribute) if attribute else value


def __dir__() -> list[str]:
    return sorted({*globals(), *_PUBLIC})
