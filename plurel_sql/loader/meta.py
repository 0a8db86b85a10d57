"""Open a generated database from its URL alone: metadata, schema and dialect.

Everything the loader needs (schema IR, cut-offs, seed) is stored by the
materializer in the ``plurel_meta`` table; this module reads it with one small
query through the sampling dialect. :class:`Database` holds no connection, so it
pickles cheaply into DataLoader worker processes; each process opens its own.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from plurel_sql.dialects.sampling_base import SamplingDialect, sampling_dialect_for
from plurel_sql.errors import DatabaseError, PlurelError
from plurel_sql.schema.ir import Schema


@dataclass
class Database:
    """A generated database: its URL, ``plurel_meta`` entries and schema IR.

    ``stats`` maps (table, column) to the (mean, std) used for standardization.
    """

    url: str
    meta: dict[str, Any]
    schema: Schema
    dialect_name: str
    stats: dict[tuple[str, str], tuple[float, float]] = field(default_factory=dict)

    @property
    def dialect(self) -> SamplingDialect:
        return sampling_dialect_for(self.url)

    def connect(self, read_only: bool = True) -> Any:
        return self.dialect.connect(self.url, read_only=read_only)

    @property
    def val_cutoff(self) -> int:
        """Validation cut-off in seconds since the epoch (UTC midnight)."""
        return iso_to_seconds(str(self.meta.get("val_cutoff") or self.schema.val_cutoff))

    @property
    def test_cutoff(self) -> int:
        return iso_to_seconds(str(self.meta.get("test_cutoff") or self.schema.test_cutoff))

    @property
    def name(self) -> str:
        """A label for messages: the URL with any password masked."""
        from plurel_sql.dialects import mask_url

        return mask_url(self.url)


def iso_to_seconds(text: str) -> int:
    """Seconds since 1970-01-01 UTC of an ISO date or date-time."""
    try:
        if len(text) == 10:
            d = date.fromisoformat(text)
            return int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp())
        dt = datetime.fromisoformat(text)
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        return int(dt.timestamp())
    except ValueError:
        raise DatabaseError(f"invalid date {text!r} in plurel_meta") from None


def read_meta(conn: Any, dialect: SamplingDialect, url: str) -> dict[str, Any]:
    """All ``plurel_meta`` rows as a dict; a one-line error if the table is missing.

    Uses the materializer's reader when present (same parsing and messages),
    else one small query.
    """
    try:
        from plurel_sql.materialize.meta import read_meta as materializer_read_meta
    except ImportError:
        materializer_read_meta = None
    if materializer_read_meta is not None:
        return materializer_read_meta(url)
    try:
        table = dialect.run(conn, "SELECT key, value FROM plurel_meta")
    except PlurelError:
        raise
    except Exception:  # noqa: BLE001 - any engine error here means "not ours"
        rollback(conn)
        raise DatabaseError(
            f"{url}: no plurel_meta table; not a database written by `plurel-sql generate`"
        ) from None
    cols = table.to_pydict()
    return dict(zip(cols["key"], cols["value"], strict=True))


def rollback(conn: Any) -> None:
    """Roll back after a failed query (PostgreSQL aborts the transaction); never fails."""
    with contextlib.suppress(Exception):
        conn.rollback()


def open_database(url: str, compute_stats: bool = True) -> Database:
    """Read ``plurel_meta`` of ``url`` and return a :class:`Database`.

    With ``compute_stats`` the per-column statistics are loaded from (and, the
    first time, computed into) the ``plurel_stats`` table; see
    :mod:`plurel_sql.loader.stats`.
    """
    if not isinstance(url, str) or "://" not in url:
        raise DatabaseError(
            f"invalid database URL {url!r}: expected duckdb:///PATH or postgresql://..."
        )
    dialect = sampling_dialect_for(url)
    conn = dialect.connect(url, read_only=True)
    try:
        meta = read_meta(conn, dialect, url)
    finally:
        conn.close()
    if "schema" not in meta:
        raise DatabaseError(f"{url}: plurel_meta has no 'schema' entry")
    schema = meta["schema"]
    if not isinstance(schema, Schema):
        schema = Schema.from_json(schema)
    db = Database(url=url, meta=meta, schema=schema, dialect_name=dialect.name)
    if compute_stats:
        from plurel_sql.loader.stats import ensure_stats

        db.stats = ensure_stats(db)
    return db


def meta_json(db: Database, key: str) -> Any:
    """A JSON-valued ``plurel_meta`` entry, or ``None`` when absent."""
    value = db.meta.get(key)
    return json.loads(value) if isinstance(value, str) else value
