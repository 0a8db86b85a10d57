"""``plurel-sql verify relbench:///DIR`` (and ``parquet:///DIR``): a folder re-checked.

A folder has no engine to ask, so the check borrows one: the folder is imported
into a throwaway DuckDB file (:func:`~plurel_sql.interop.importer.import_folder`),
where every PRIMARY KEY, FOREIGN KEY, NOT NULL and CHECK is enforced while loading
and then re-checked by :func:`~plurel_sql.materialize.verify.verify_database`; the
checksums of the rows read from the files must equal those ``plurel.json``
records. A folder that fails any of it (a missing or truncated file, a changed
value, a key without its parent) is reported, one problem per line.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from plurel_sql.errors import PlurelError
from plurel_sql.interop import layout as lay
from plurel_sql.interop.importer import import_folder
from plurel_sql.materialize.meta import parse_meta
from plurel_sql.materialize.verify import VerifyReport, verify_database


def verify_folder(root: str | Path, where: str, checksums: bool = True) -> VerifyReport:
    """The :class:`VerifyReport` of the folder ``root`` (``where`` names it)."""
    root = Path(root)
    report = VerifyReport(url=where)
    try:
        side = lay.read_sidecar(root) if root.is_dir() else None
    except PlurelError as exc:
        report.problems.append(str(exc))
        return report
    if side is None:
        report.problems.append(f"no {lay.SIDECAR} in {root}: not a folder plurel-sql wrote")
        return report
    meta = parse_meta(side["meta"], str(root / lay.SIDECAR))
    report.tables = len(meta["schema"].tables)
    if side["layout"] == "relbench":
        report.problems += _relbench_files(root, side)
    with tempfile.TemporaryDirectory(prefix="plurel-verify-") as tmp:
        url = f"duckdb:///{Path(tmp) / 'check.duckdb'}"
        try:
            loaded = import_folder(root, url)
        except PlurelError as exc:
            report.problems.append(f"does not load into DuckDB with its keys: {exc}")
            return report
        inner = verify_database(url, checksums=False)
    report.problems += inner.problems
    report.rows = loaded.rows
    for table, expected in meta["row_counts"].items():
        if loaded.row_counts.get(table) != expected:
            report.problems.append(
                f"{table}: {loaded.row_counts.get(table)} rows, plurel.json records {expected}"
            )
    if checksums:
        report.checksums = loaded.checksums
        for table, digest in meta["checksums"].items():
            if loaded.checksums.get(table) != digest:
                report.problems.append(f"{table}: checksum differs from plurel.json")
    report.notes.append("keys checked by loading the files into a temporary DuckDB")
    return report


def _relbench_files(root: Path, side: dict) -> list[str]:
    """The manifest and every task folder plurel.json lists must be there."""
    problems = []
    if not (root / lay.MANIFEST).is_file():
        problems.append(f"{lay.MANIFEST} is missing")
    for entry in side["tables"].values():
        for task in entry.get("relbench", {}).get("tasks", []):
            if not (root / "tasks" / task / lay.MANIFEST).is_file():
                problems.append(f"task {task}: tasks/{task}/{lay.MANIFEST} is missing")
    return problems
