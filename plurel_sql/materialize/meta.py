"""The ``plurel_meta`` table: everything a reader needs, stored in the database.

``plurel_meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)`` with the keys in
:data:`META_KEYS` plus the optional :data:`OPTIONAL_KEYS` (absent from databases
written by earlier versions). Values are text; JSON for ``config``, ``schema``,
``row_counts``, ``checksums`` and ``column_stats``. :func:`read_meta` returns them
parsed.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import sqlalchemy as sa

from plurel_sql import __version__
from plurel_sql.column_stats import StoredTable, encode
from plurel_sql.dialects import META_TABLE, DatabaseURL, Dialect, Engine, using_engine
from plurel_sql.dialects.base import meta_table
from plurel_sql.errors import DatabaseError, SchemaError
from plurel_sql.schema.ir import Schema
from plurel_sql.values.vocab import value_libraries

FORMAT_VERSION = "1"
META_KEYS = (
    "format_version",
    "package_version",
    "seed",
    "config",
    "schema",
    "min_date",
    "max_date",
    "val_cutoff",
    "test_cutoff",
    "row_counts",
    "checksums",
    "created_at",
)
JSON_KEYS = ("config", "row_counts", "checksums")
#: Written only when values depend on a library's data (users' schemas: Faker's
#: vocabularies), e.g. {"faker": "40.63.0"}; optional, so older databases still read.
LIBRARIES_KEY = "libraries"
#: JSON keys a reader must not rely on: ``column_stats`` (see plurel_sql.column_stats)
#: and ``libraries``
OPTIONAL_KEYS = ("column_stats", LIBRARIES_KEY)


def meta_rows(
    *,
    seed: int,
    config: dict[str, Any],
    schema: Schema,
    row_counts: dict[str, int],
    checksums: dict[str, str],
    column_stats: dict[str, StoredTable],
    created_at: dt.datetime | None = None,
) -> dict[str, str]:
    """The text rows of ``plurel_meta`` for one generated database."""
    created = (created_at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    return {
        "format_version": FORMAT_VERSION,
        "package_version": __version__,
        "seed": str(int(seed)),
        "config": json.dumps(config, sort_keys=True, separators=(",", ":")),
        "schema": schema.to_json(),
        "min_date": schema.min_date,
        "max_date": schema.max_date,
        "val_cutoff": schema.val_cutoff,
        "test_cutoff": schema.test_cutoff,
        "row_counts": json.dumps(row_counts, sort_keys=True, separators=(",", ":")),
        "checksums": json.dumps(checksums, sort_keys=True, separators=(",", ":")),
        "column_stats": encode(column_stats),
        "created_at": created.isoformat(timespec="seconds").replace("+00:00", "Z"),
        **(
            {LIBRARIES_KEY: json.dumps(libraries, sort_keys=True, separators=(",", ":"))}
            if (libraries := value_libraries(schema))
            else {}
        ),
    }


def write_meta(dialect: Dialect, con: Any, rows: dict[str, str]) -> None:
    """Create ``plurel_meta`` and insert ``rows`` (values bound as parameters)."""
    table = meta_table(dialect.schema)
    dialect.execute(con, sa.schema.CreateTable(table))
    stmt = sa.insert(table).values(key=sa.bindparam("key"), value=sa.bindparam("value"))
    dialect.executemany(con, stmt, [{"key": k, "value": v} for k, v in rows.items()])


def parse_meta(rows: dict[str, str], where: str) -> dict[str, Any]:
    """Parsed metadata: ``seed`` int, ``schema`` a :class:`Schema`, JSON keys as
    dicts, the rest as text; optional keys only when present."""
    missing = [k for k in META_KEYS if k not in rows]
    if missing:
        raise DatabaseError(f"{where}: plurel_meta lacks key(s) {', '.join(missing)}")
    out: dict[str, Any] = dict(rows)
    try:
        out["seed"] = int(rows["seed"])
        for key in (*JSON_KEYS, *(k for k in OPTIONAL_KEYS if k in rows)):
            out[key] = json.loads(rows[key])
        out["schema"] = Schema.from_json(rows["schema"])
    except (ValueError, SchemaError) as exc:
        raise DatabaseError(f"{where}: unreadable plurel_meta: {exc}") from None
    return out


def read_meta_from(dialect: Dialect, con: Any) -> dict[str, Any]:
    """The parsed ``plurel_meta`` read through the open connection ``con``."""
    if META_TABLE not in dialect.list_tables(con):
        where = dialect.url.masked + (f" (schema {dialect.schema})" if dialect.schema else "")
        raise DatabaseError(f"no plurel_meta table in {where}: not a plurel-sql database")
    return parse_meta(dialect.read_meta_rows(con), dialect.url.masked)


def read_meta(url: str | DatabaseURL | Engine) -> dict[str, Any]:
    """The parsed ``plurel_meta`` of the database at ``url`` (through the engine's
    shared read-only connection when given an :class:`Engine`).

    Keys: ``format_version``, ``package_version``, ``min_date``, ``max_date``,
    ``val_cutoff``, ``test_cutoff``, ``created_at`` (text); ``seed`` (int);
    ``config``, ``row_counts``, ``checksums`` and, when present, ``column_stats``
    (dicts); ``schema`` (a :class:`~plurel_sql.schema.ir.Schema`, the final schema).
    Raises :class:`DatabaseError` with a one-line message when the URL is unusable
    or holds no ``plurel_meta``.
    """
    with using_engine(url) as engine:
        return read_meta_from(engine.dialect, engine.connection())
