"""Is a seed of a fleet already done? The cheap check a rerun makes per seed.

Runs in the worker that would otherwise generate the seed (so on a cluster the
driver never opens the outputs). A seed is done when its database's
``plurel_meta`` is the one the ledger recorded (same seed, job key, checksums and
row counts) and ``count(*)`` of every table matches; a database with no ledger
record is adopted only after a full :func:`plurel_sql.verify` (checksums
recomputed) of a ``plurel_meta`` with the same seed, configuration and version.
Anything else is regenerated when the ledger says this fleet wrote it, and left to
the writer's usual clash rules (``--replace``) when it does not.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from plurel_sql import __version__
from plurel_sql.dialects import using_engine
from plurel_sql.errors import PlurelError
from plurel_sql.materialize.ddl import build_metadata
from plurel_sql.materialize.meta import read_meta_from
from plurel_sql.orchestrate.ledger import LedgerRecord, local_path


@dataclass(frozen=True)
class Verdict:
    """``done``: skip the seed; ``replace``: overwrite what is there (it is ours)."""

    done: bool
    replace: bool
    reason: str
    row_counts: dict[str, int] | None = None
    checksums: dict[str, str] | None = None


def check_seed(
    url: str, seed: int, record: LedgerRecord | None, job: str, config: dict[str, Any]
) -> Verdict:
    """The verdict for ``seed`` at ``url`` given its ledger ``record`` (or None)."""
    ours = record is not None
    try:
        meta, counts = _meta_and_counts(url)
    except (PlurelError, OSError, sa.exc.SQLAlchemyError) as exc:
        if ours:
            _remove_unreadable_file(url)
        return Verdict(False, ours, f"unreadable: {' '.join(str(exc).split())[:200]}")
    if meta["seed"] != seed:
        return Verdict(False, ours, f"holds seed {meta['seed']}")
    if counts != meta["row_counts"]:
        return Verdict(False, ours, "row counts differ from plurel_meta")
    if ours:
        if record.status != "done" or record.job != job:
            return Verdict(False, True, "written by another configuration or unfinished")
        if meta["checksums"] != record.checksums or meta["row_counts"] != record.row_counts:
            return Verdict(False, True, "plurel_meta differs from the ledger")
        return Verdict(True, False, "verified", counts, meta["checksums"])
    same_config = _canonical(meta["config"]) == _canonical(config)
    if not same_config or meta["package_version"] != __version__:
        return Verdict(False, False, "another configuration or version")
    from plurel_sql.materialize.verify import verify_database

    report = verify_database(url)
    if not report.ok:
        return Verdict(False, False, f"fails verification: {report.problems[0]}")
    return Verdict(True, False, "adopted (verified)", counts, meta["checksums"])


def _meta_and_counts(url: str) -> tuple[dict[str, Any], dict[str, int]]:
    """``plurel_meta`` and the live row count of every table it lists."""
    with using_engine(url) as engine:
        dialect, con = engine.dialect, engine.connection()
        meta = read_meta_from(dialect, con)
        present = dialect.list_tables(con)
        counts: dict[str, int] = {}
        for table in build_metadata(meta["schema"], dialect.schema).tables.values():
            if table.name in present:
                stmt = sa.select(sa.func.count()).select_from(table)
                counts[table.name] = int(dialect.fetchall(con, stmt)[0][0])
    return meta, counts


def _canonical(config: dict[str, Any]) -> str:
    return json.dumps(config, sort_keys=True, separators=(",", ":"))


def _remove_unreadable_file(url: str) -> None:
    """A file this fleet wrote that no longer opens (truncated, overwritten) is
    removed so the writer can start afresh; directories are left alone."""
    path = local_path(url)
    if path is not None and path.is_file():
        with contextlib.suppress(OSError):
            path.unlink()
