"""The ``plurel_meta`` table: everything a reader needs, stored in the database.

``plurel_meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)`` with the keys in
:data:`META_KEYS`. Values are text; JSON for ``config``, ``schema``, ``row_counts``
and ``checksums``. :func:`read_meta` returns them parsed.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import sqlalchemy as sa

from plurel_sql import __version__
from plurel_sql.dialects import META_TABLE, Dialect, get_dialect
from plurel_sql.dialects.filebased import meta_table, read_meta_rows
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


def meta_rows(
    *,
    seed: int,
    config: dict[str, Any],
    schema: Schema,
    row_counts: dict[str, int],
    checksums: dict[str, str],
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
    dicts, the rest as text."""
    missing = [k for k in META_KEYS if k not in rows]
    if missing:
        raise DatabaseError(f"{where}: plurel_meta lacks key(s) {', '.join(missing)}")
    out: dict[str, Any] = dict(rows)
    try:
        out["seed"] = int(rows["seed"])
        for key in (*JSON_KEYS, LIBRARIES_KEY):
            if key in rows:
                out[key] = json.loads(rows[key])
        out["schema"] = Schema.from_json(rows["schema"])
    except (ValueError, SchemaError) as exc:
        raise DatabaseError(f"{where}: unreadable plurel_meta: {exc}") from None
    return out


def read_meta_from(dialect: Dialect, con: Any) -> dict[str, Any]:
    if META_TABLE not in dialect.list_tables(con):
        where = dialect.url.masked + (f" (schema {dialect.schema})" if dialect.schema else "")
        raise DatabaseError(f"no plurel_meta table in {where}: not a plurel-sql database")
    return parse_meta(read_meta_rows(dialect, con), dialect.url.masked)


def read_meta(url: str) -> dict[str, Any]:
    """The parsed ``plurel_meta`` of the database at ``url``.

    Keys: ``format_version``, ``package_version``, ``min_date``, ``max_date``,
    ``val_cutoff``, ``test_cutoff``, ``created_at`` (text); ``seed`` (int);
    ``config``, ``row_counts``, ``checksums`` (dicts); ``schema`` (a
    :class:`~plurel_sql.schema.ir.Schema`, the final schema). Raises
    :class:`DatabaseError` with a one-line message when the URL is unusable or holds
    no ``plurel_meta``.
    """
    dialect = get_dialect(url)
    con = dialect.connect(read_only=True)
    try:
        return read_meta_from(dialect, con)
    finally:
        con.close()
