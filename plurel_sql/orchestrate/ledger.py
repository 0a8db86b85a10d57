"""The fleet ledger: which seeds of a ``generate-many`` run are done, with their
checksums and timings, kept at the output location so a rerun can resume.

One design for every output: a JSON-lines file, ``plurel_ledger.jsonl``, one
record per finished attempt (the last record of a URL wins). Only the driver (the
process running ``generate_many``) writes it, so workers on other machines never
need to reach it. Where it lives (:func:`ledger_path`):

- URLs with a local path (``duckdb:///dbs/seed_{seed}.duckdb``, ``sqlite:///...``,
  ``relbench:///out/seed_{seed}``): the directory that holds the outputs (above the
  first path component containing ``{seed}``);
- server URLs (``postgresql://host/db?schema=seed_{seed}``): the current directory;
- ``--ledger FILE`` overrides both.

The ledger is a cache of what the fleet wrote, never the proof: a seed counts as
done only when its database still carries the ``plurel_meta`` the ledger recorded
(same job key, checksums and row counts) and the live row counts match
(:mod:`plurel_sql.orchestrate.resume`). Records are appended with one ``write`` on
a file opened in append mode and fsynced, so a killed driver loses at most the
line it was writing; unreadable lines are skipped.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from plurel_sql.dialects import mask_url

LEDGER_NAME = "plurel_ledger.jsonl"
SEED_FIELD = "{seed}"
_LOCAL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:///(?P<path>[^?#]*)")


@dataclass
class LedgerRecord:
    """One attempt at one seed, as stored (one JSON object per line)."""

    url: str  # password masked; the key
    seed: int
    status: str  # "done" or "failed"
    job: str  # job_key() of the run that wrote it
    row_counts: dict[str, int] = field(default_factory=dict)
    checksums: dict[str, str] = field(default_factory=dict)
    cells: int = 0
    seconds: float = 0.0
    generate_seconds: float = 0.0
    load_seconds: float = 0.0
    attempts: int = 1
    worker: str = ""
    error: str | None = None
    finished_at: str = ""


def job_key(config: dict[str, Any], schema_sql_text: str | None, version: str) -> str:
    """What determines a database's content besides its seed: the configuration,
    the user's schema file (its text) and the package version. Chunk size and
    worker count do not change the data, so they are not part of it."""
    blob = json.dumps(
        {"config": config, "schema_sql": schema_sql_text, "version": version},
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def local_path(url: str) -> Path | None:
    """The filesystem path of a ``scheme:///path`` URL (None for server URLs)."""
    match = _LOCAL.match(url)
    return Path(match["path"]) if match and match["path"] else None


def ledger_path(template: str, override: str | os.PathLike | None = None) -> Path:
    """Where the ledger of ``template`` lives (see the module docstring)."""
    if override is not None:
        return Path(override)
    path = local_path(template)
    if path is None:
        return Path(LEDGER_NAME)
    parts = path.parts
    first = next((i for i, p in enumerate(parts) if SEED_FIELD in p), len(parts) - 1)
    directory = Path(*parts[:first]) if first else Path(".")
    return directory / LEDGER_NAME


class Ledger:
    """The records of one ledger file, read once and appended to as seeds finish."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.records: dict[str, LedgerRecord] = {}
        if path.exists():
            with path.open(encoding="utf-8") as fh:
                for line in fh:
                    record = _parse(line)
                    if record is not None:
                        self.records[record.url] = record

    def get(self, url: str) -> LedgerRecord | None:
        return self.records.get(mask_url(url))

    def append(self, record: LedgerRecord) -> None:
        """Store ``record`` (one line, fsynced); later records of a URL win."""
        if not record.finished_at:
            now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
            record.finished_at = now.replace("+00:00", "Z")
        self.records[record.url] = record
        line = json.dumps(asdict(record), sort_keys=True, separators=(",", ":")) + "\n"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line.encode("utf-8"))
            with contextlib.suppress(OSError):
                os.fsync(fd)
        finally:
            os.close(fd)


def _parse(line: str) -> LedgerRecord | None:
    """One ledger line, or None when it is torn or not a record."""
    try:
        data = json.loads(line)
        return LedgerRecord(**data)
    except (ValueError, TypeError):
        return None
