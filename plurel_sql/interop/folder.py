"""Write a stream of (table, Arrow batch) into a folder of Parquet files, atomically.

The same batches the engines load (normalized by the writer's
:func:`~plurel_sql.materialize.writer.normalize_batch`, checksummed and summarized
the same way) go into one zstd Parquet file per table, then the manifest, the task
folders and ``plurel.json`` (with the ``plurel_meta`` rows an engine would hold).

Atomic as the engines' writes: everything is written into ``.<name>.plurel-tmp-<pid>``
next to the target and renamed into place at the end; a failure or a kill leaves the
target as it was (a killed run's temporary folder is removed by the next run). With
``replace`` a previous output is first renamed aside, then removed once the new one
is in place.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from plurel_sql.checksum import TableChecksum
from plurel_sql.column_stats import TableStats
from plurel_sql.dialects.filebased import TMP_MARK, pid_alive
from plurel_sql.errors import DatabaseError
from plurel_sql.interop import layout as lay
from plurel_sql.interop.tasks import relbench_tasks
from plurel_sql.materialize.meta import meta_rows
from plurel_sql.materialize.progress import Progress
from plurel_sql.materialize.writer import BatchSource, WriteResult, normalize_batch
from plurel_sql.schema.arrow import arrow_schema
from plurel_sql.schema.ir import Table

OLD_MARK = ".plurel-old-"


def _clean_stale(root: Path) -> None:
    """Remove temporary folders of killed runs (their process is gone)."""
    for mark in (TMP_MARK, OLD_MARK):
        prefix = f".{root.name}{mark}"
        for tmp in root.parent.glob(prefix + "*"):
            pid = tmp.name[len(prefix) :]
            if pid.isdigit() and not pid_alive(int(pid)):
                shutil.rmtree(tmp, ignore_errors=True)


def is_output_folder(root: Path) -> bool:
    """A folder earlier plurel-sql runs wrote (``plurel.json`` is there)."""
    return (root / lay.SIDECAR).is_file()


def check_target(root: Path, replace: bool, where: str) -> None:
    """One-line errors before anything is written: the parent must be a writable
    folder; an existing target must be empty, or a previous output with ``replace``."""
    parent = root.parent
    if not parent.is_dir():
        raise DatabaseError(f"cannot write {where}: directory {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise DatabaseError(f"cannot write {where}: directory {parent} is not writable")
    if root.exists() and not root.is_dir():
        raise DatabaseError(f"cannot write {where}: {root} is a file")
    if root.is_dir() and any(root.iterdir()):
        if not is_output_folder(root):
            raise DatabaseError(
                f"cannot write {where}: {root} holds files plurel-sql did not write"
            )
        if not replace:
            raise DatabaseError(f"{where} already holds a database; pass --replace to overwrite")


class _TableFile:
    """One table's Parquet file being written, its checksum, statistics and whether
    its row key is the row position (RelBench's key contract)."""

    def __init__(self, root: Path, layout: str, table: Table) -> None:
        self.table = table
        self.layout = layout
        self.expected = arrow_schema(table)
        time_col = table.time_column if layout == "relbench" else None
        self.time_col = time_col if time_col and lay.is_query_name(time_col) else None
        self.file_schema = (
            lay.relbench_schema(table, self.expected, self.time_col)
            if layout == "relbench"
            else self.expected
        )
        self.path = lay.table_path(root, layout, table.name)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.writer = pq.ParquetWriter(self.path, self.file_schema, compression=lay.COMPRESSION)
        self.checksum = TableChecksum(table)
        self.stats = TableStats(table)
        self.key = lay.row_key(table)
        self.positional = self.key is not None
        self.time_sorted = self.time_col is not None
        self._last_time: pa.Scalar | None = None  # the last time value written
        self._nulls_began = False
        self.rows = 0

    def write(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        batch = normalize_batch(batch, self.expected, self.table.name)
        self.checksum.update(batch)
        self.stats.update(batch)
        if self.positional and batch.num_rows:
            keys = batch.column(self.key)
            values = keys.to_numpy(zero_copy_only=False) if keys.null_count == 0 else None
            start = self.rows
            if values is None or not np.array_equal(
                values, np.arange(start, start + batch.num_rows, dtype=values.dtype)
            ):
                self.positional = False
        if self.time_sorted and batch.num_rows:
            self._check_time_order(batch.column(self.time_col))
        if self.layout == "relbench":
            arrays = [
                lay.relbench_array(c, batch.column(i), c.name == self.time_col)
                for i, c in enumerate(self.table.columns)
            ]
            out = pa.RecordBatch.from_arrays(arrays, schema=self.file_schema)
        else:
            out = batch
        self.writer.write_batch(out)
        self.rows += batch.num_rows
        return batch

    def _check_time_order(self, col: pa.Array) -> None:
        """Non-decreasing in file order with every NULL after the last value."""
        valid = col.is_valid()
        n_valid = len(col) - col.null_count
        if self._nulls_began:
            self.time_sorted = n_valid == 0
            return
        if col.null_count and not pc.all(valid.slice(0, n_valid)).as_py():
            self.time_sorted = False  # a NULL before a value
            return
        values = col.slice(0, n_valid)
        if n_valid:
            first = values[0]
            if self._last_time is not None and pc.less(first, self._last_time).as_py():
                self.time_sorted = False
                return
            if (
                n_valid > 1
                and pc.any(pc.less(values.slice(1), values.slice(0, n_valid - 1))).as_py()
            ):
                self.time_sorted = False
                return
            self._last_time = values[n_valid - 1]
        self._nulls_began = col.null_count > 0

    def close(self) -> None:
        self.writer.close()


def write_folder(
    source: BatchSource,
    root: str | os.PathLike,
    layout: str,
    *,
    seed: int,
    config: dict[str, Any],
    where: str,
    replace: bool = False,
    progress: Progress | None = None,
    name: str | None = None,
    expect_checksums: dict[str, str] | None = None,
    origin: str | None = None,
) -> WriteResult:
    """Write ``source`` into the folder ``root`` in ``layout`` (see the module doc);
    returns the same :class:`WriteResult` as an engine write.

    ``name`` is the RelBench dataset name (default: the folder's name). With
    ``expect_checksums`` (an export) a table whose checksum differs fails the write
    before the folder is put in place; ``origin`` names where the rows came from."""
    if layout not in lay.LAYOUTS:
        raise DatabaseError(f"unknown folder layout {layout!r}: expected one of {lay.LAYOUTS}")
    root = Path(root).absolute()
    progress = progress or Progress()
    result = WriteResult(url=where, where=where)
    started = time.perf_counter()
    lay.check_table_names(source.planned_schema)
    check_target(root, replace, where)
    _clean_stale(root)
    tmp = root.with_name(f".{root.name}{TMP_MARK}{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    files: dict[str, _TableFile] = {}
    try:
        _write_tables(source, tmp, layout, files, progress, result)
        t0 = time.perf_counter()
        progress.phase("finalizing: manifest, tasks, plurel.json")
        _finish(source, tmp, layout, files, seed, config, name or root.name, origin, result)
        _check_checksums(result.checksums, expect_checksums, origin or where)
        _swap(tmp, root)
        result.finalize_seconds = time.perf_counter() - t0
    except BaseException:
        for f in files.values():
            with contextlib.suppress(Exception):
                f.close()
        shutil.rmtree(tmp, ignore_errors=True)
        progress.close()
        raise
    result.total_seconds = time.perf_counter() - started
    progress.close()
    return result


def _write_tables(
    source: BatchSource,
    root: Path,
    layout: str,
    files: dict[str, _TableFile],
    progress: Progress,
    result: WriteResult,
) -> None:
    current: _TableFile | None = None
    batches = iter(source.batches())
    while True:
        t0 = time.perf_counter()
        item = next(batches, None)
        t1 = time.perf_counter()
        result.generate_seconds += t1 - t0
        if item is None:
            break
        table, batch = item
        if current is None or table.name != current.table.name:
            if current is not None:
                current.close()
                progress.finish_table()
            if table.name in files:
                raise DatabaseError(f"table {table.name}: batches are not contiguous")
            current = files[table.name] = _TableFile(root, layout, table)
            progress.start_table(table.name, table.num_rows)
        batch = current.write(batch)
        result.cells += batch.num_rows * batch.num_columns
        progress.advance(batch.num_rows)
        result.load_seconds += time.perf_counter() - t1
    if current is not None:
        current.close()
        progress.finish_table()
    for table in source.final_schema.tables:  # a table without batches: an empty file
        if table.name not in files:
            files[table.name] = _TableFile(root, layout, table)
            files[table.name].close()


def _finish(
    source: BatchSource,
    root: Path,
    layout: str,
    files: dict[str, _TableFile],
    seed: int,
    config: dict[str, Any],
    name: str,
    origin: str | None,
    result: WriteResult,
) -> None:
    """Manifest, task folders and ``plurel.json`` once every table file is closed."""
    final = source.final_schema
    result.row_counts = {t.name: files[t.name].rows for t in final.tables}
    result.checksums = {t.name: files[t.name].checksum.hexdigest() for t in final.tables}
    rows = meta_rows(
        seed=seed,
        config=config,
        schema=final,
        row_counts=result.row_counts,
        checksums=result.checksums,
        column_stats={t.name: files[t.name].stats.stored() for t in final.tables},
    )
    per_table: dict[str, dict[str, Any]] = {t: {"rows": n} for t, n in result.row_counts.items()}
    if layout == "relbench":
        positional = {t: f.positional for t, f in files.items()}
        time_sorted = {t: f.time_sorted for t, f in files.items()}
        tables = lay.relbench_tables(final, positional, time_sorted)
        description = (
            f"plurel-sql {rows['package_version']} synthetic database, seed {seed} "
            f"({len(final.tables)} tables, {result.rows} rows)"
            + (f", exported from {origin}" if origin else "")
        )
        lay.dump_yaml(lay.dataset_manifest(name, final, tables, description), root / lay.MANIFEST)
        tasks, skipped = relbench_tasks(final, tables)
        for task in tasks:
            lay.dump_yaml(task.manifest(), root / "tasks" / task.name / lay.MANIFEST)
        for t in final.tables:
            entry = tables[t.name]
            per_table[t.name]["relbench"] = {
                "pkey": entry.pkey,
                "time_col": entry.time_col,
                "fkeys": entry.fkeys,
                "notes": entry.notes,
                "tasks": [task.name for task in tasks if task.table == t.name],
                "tasks_left_out": [s for s in skipped if s.startswith(f"{t.name}.")],
            }
    side = lay.sidecar(layout, final, rows, per_table)
    (root / lay.SIDECAR).write_text(json.dumps(side, indent=1) + "\n", encoding="utf-8")


def _check_checksums(got: dict[str, str], expected: dict[str, str] | None, where: str) -> None:
    if expected is None:
        return
    bad = sorted(t for t, digest in got.items() if expected.get(t) != digest)
    if bad:
        raise DatabaseError(
            f"{where}: table(s) {', '.join(bad)} differ from the checksums plurel_meta "
            "records (run plurel-sql verify); nothing written"
        )


def _swap(tmp: Path, root: Path) -> None:
    """Rename the finished folder into place (a previous one is moved aside first)."""
    if root.is_dir() and not any(root.iterdir()):
        root.rmdir()
    if root.exists():
        old = root.with_name(f".{root.name}{OLD_MARK}{os.getpid()}")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(root, old)
        os.replace(tmp, root)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, root)
