"""Open a generated database from its URL alone: engine, metadata, schema, statistics.

Everything the loader needs (schema IR, cut-offs, seed, column statistics) is
stored by the materializer in the ``plurel_meta`` table. :func:`open_database`
parses the URL once and reads it through the engine's one read-only connection,
which tasks, split queries and the sampler then share. :class:`Database` pickles
without that connection into DataLoader worker processes; each process opens its
own on first use.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from plurel_sql.column_stats import Stats
from plurel_sql.dialects import DatabaseURL, Dialect, Engine, create_engine
from plurel_sql.errors import DatabaseError
from plurel_sql.loader.stats import load_stats
from plurel_sql.materialize.meta import read_meta_from
from plurel_sql.schema.ir import Schema

if TYPE_CHECKING:
    from plurel_sql.loader.tasks import Task


@dataclass
class Database:
    """A generated database: its engine (URL + dialect + connection), ``plurel_meta``
    entries, schema IR and the (mean, std) per standardized (table, column)."""

    engine: Engine
    meta: dict[str, Any]
    schema: Schema
    stats: Stats = field(default_factory=dict)

    @property
    def url(self) -> str:
        """The URL as given (may hold a password: show :attr:`name` instead)."""
        return self.engine.url.raw

    @property
    def name(self) -> str:
        """A label for messages: the URL with any password masked."""
        return self.engine.url.masked

    @property
    def dialect(self) -> Dialect:
        return self.engine.dialect

    def connection(self) -> Any:
        """This process's read-only connection (shared; do not close it)."""
        return self.engine.connection()

    def close(self) -> None:
        self.engine.close()

    @property
    def val_cutoff(self) -> int:
        """Validation cut-off in seconds since the epoch (UTC midnight)."""
        return iso_to_seconds(str(self.meta.get("val_cutoff") or self.schema.val_cutoff))

    @property
    def test_cutoff(self) -> int:
        return iso_to_seconds(str(self.meta.get("test_cutoff") or self.schema.test_cutoff))

    def tasks(self, untimed_split: str = "train") -> list[Task]:
        """Every masked-cell task with its split sizes (see :func:`loader.tasks.tasks`)."""
        from plurel_sql.loader.tasks import tasks

        return tasks(self, untimed_split)


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


def open_database(url: str | DatabaseURL | Engine) -> Database:
    """Read ``plurel_meta`` of ``url`` (read-only) and return a :class:`Database`.

    One URL parse, one connection (kept open in the Database for what follows).
    Unusable URLs, missing databases and databases without ``plurel_meta`` are
    one-line :class:`DatabaseError`\\ s.
    """
    engine = create_engine(url)
    try:
        with engine.driver_errors():
            con = engine.connection()
            meta = read_meta_from(engine.dialect, con)
            stats = load_stats(engine.dialect, con, meta, meta["schema"])
    except BaseException:
        if engine is not url:
            engine.close()
        raise
    return Database(engine=engine, meta=meta, schema=meta["schema"], stats=stats)
