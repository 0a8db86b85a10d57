"""Column-wise buffer of one table's values, in memory or spilled to disk.

Generation writes a table block by block and post-processing works one column at
a time, so a table is held as separate columns. Small tables stay in RAM; large
ones are appended to one file per column with ``write()`` (page cache, not process
memory), read back a slice or a whole column at a time, so peak memory is bounded
by one column, never the whole table.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa


class ColumnStore:
    def __init__(self, num_rows: int, spill: bool, spill_dir: str | Path | None = None):
        self.num_rows = num_rows
        self._dir: Path | None = (
            Path(tempfile.mkdtemp(prefix="plurel-", dir=spill_dir)) if spill else None
        )
        self._memory: dict[str, np.ndarray] = {}
        self._dtypes: dict[str, np.dtype] = {}
        self._written: dict[str, int] = {}
        self._files: dict[str, int] = {}  # column -> file number (names may hold any text)
        self._arrow: dict[str, pa.Array] = {}

    @property
    def spilled(self) -> bool:
        return self._dir is not None

    def _path(self, name: str, suffix: str = "bin") -> Path:
        assert self._dir is not None
        number = self._files.setdefault(name, len(self._files))
        return self._dir / f"{number}.{suffix}"

    def append(self, name: str, values: np.ndarray) -> None:
        """Append the next block of rows of column ``name``."""
        values = np.ascontiguousarray(values)
        if name not in self._dtypes:
            self._dtypes[name] = values.dtype
            self._written[name] = 0
            if self._dir is None:
                self._memory[name] = np.empty(self.num_rows, dtype=values.dtype)
        start = self._written[name]
        if self._dir is None:
            self._memory[name][start : start + len(values)] = values
        else:
            with open(self._path(name), "ab") as fh:
                fh.write(values.astype(self._dtypes[name], copy=False).tobytes())
        self._written[name] = start + len(values)

    def put(self, name: str, values: np.ndarray) -> None:
        """Replace column ``name`` whole."""
        self.drop(name)
        self.append(name, values)

    def put_arrow(self, name: str, values: pa.Array) -> None:
        """Store a finished (typed) column whole: in memory, or in an Arrow IPC file
        read back by memory map, so a spilled table holds no column in RAM."""
        self.drop(name)
        if self._dir is None:
            self._arrow[name] = values
            return
        batch = pa.record_batch([values], names=["v"])
        with (
            pa.OSFile(str(self._path(name, "arrow")), "wb") as sink,
            pa.ipc.new_file(sink, batch.schema) as writer,
        ):
            writer.write_batch(batch)
        self._arrow[name] = None  # type: ignore[assignment]  # on disk

    def read_arrow(self, name: str, start: int = 0, stop: int | None = None) -> pa.Array:
        """Rows ``[start, stop)`` of a column stored with :meth:`put_arrow`."""
        stop = self.num_rows if stop is None else stop
        values = self._arrow[name]
        if values is None:
            source = pa.memory_map(str(self._path(name, "arrow")))
            values = pa.ipc.open_file(source).get_batch(0).column(0)
        return values.slice(start, stop - start)

    def drop(self, name: str) -> None:
        if name in self._arrow and self._arrow.pop(name) is None:
            self._path(name, "arrow").unlink(missing_ok=True)
        if name in self._dtypes:
            del self._dtypes[name], self._written[name]
            self._memory.pop(name, None)
            if self._dir is not None:
                self._path(name).unlink(missing_ok=True)

    def read(self, name: str, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Rows ``[start, stop)`` of column ``name``."""
        stop = self.num_rows if stop is None else stop
        if self._dir is None:
            return self._memory[name][start:stop]
        dtype = self._dtypes[name]
        return np.fromfile(
            self._path(name), dtype=dtype, count=stop - start, offset=start * dtype.itemsize
        )

    def close(self) -> None:
        self._memory.clear()
        self._arrow.clear()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def __enter__(self) -> ColumnStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
