"""Per-column mean and standard deviation, computed while writing, read by the loader.

The loader standardizes numeric features and timestamps before they reach a model.
The writer computes their statistics from the Arrow batches it loads (the same
batches that stream through the checksum, so there is no second pass over the
database) and stores them in ``plurel_meta`` under ``column_stats``: JSON
``{table: {column: [mean, std, count]}}`` with the population standard deviation,
``null`` mean and std for a column without values. Time columns count in whole
seconds since 1970 (floor), as the loader's SQL reads them.

Batches merge with Chan et al.'s pairwise update of (count, mean, M2) in float64,
so the result does not depend on the chunk size beyond rounding.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from plurel_sql.generator.arrow import buffer_values
from plurel_sql.schema.ir import Table

#: (table, column) -> (mean, std) as the loader uses them
Stats = dict[tuple[str, str], tuple[float, float]]
#: column -> [mean, std, count] as stored (mean and std None without values)
StoredTable = dict[str, list[Any]]

MIN_STD = 1e-12


def stat_columns(table: Table) -> list[str]:
    """Columns the loader standardizes: numeric cells and the time column (text,
    UUID and other date/time columns of users' schemas are not cells)."""
    cols = [c.name for c in table.cell_columns if c.kind == "numeric"]
    if table.time_column:
        cols.append(table.time_column)
    return cols


@dataclass
class Moments:
    """Running count, mean and sum of squared deviations of one column."""

    count: int = 0
    mean: float = 0.0
    m2: float = 0.0

    def add(self, values: np.ndarray) -> None:
        n = len(values)
        if n == 0:
            return
        mean = float(values.mean())
        m2 = float(np.square(values - mean).sum())
        total = self.count + n
        delta = mean - self.mean
        self.mean += delta * n / total
        self.m2 += m2 + delta * delta * self.count * n / total
        self.count = total

    def stored(self) -> list[Any]:
        if self.count == 0:
            return [None, None, 0]
        return [self.mean, float(np.sqrt(self.m2 / self.count)), self.count]


def _values(column: pa.Array, is_time: bool) -> np.ndarray:
    """The column's values (NULLs left out) as float64; time columns in seconds.
    Read from Arrow buffers: ``to_numpy`` imports pandas (~0.35 s a process)."""
    present = column.drop_null()
    if is_time:
        micros = buffer_values(present.cast(pa.timestamp("us")).cast(pa.int64()), np.int64)
        return (micros // 1_000_000).astype(np.float64)
    return buffer_values(present.cast(pa.float64()), np.float64)


class TableStats:
    """Statistics of one table's standardized columns; feed every batch."""

    def __init__(self, table: Table) -> None:
        self.time_column = table.time_column
        self.columns = {name: Moments() for name in stat_columns(table)}

    def update(self, batch: pa.RecordBatch) -> None:
        for name, moments in self.columns.items():
            moments.add(_values(batch.column(name), name == self.time_column))

    def stored(self) -> StoredTable:
        return {name: moments.stored() for name, moments in self.columns.items()}


def usable(mean: float | None, std: float | None) -> tuple[float, float]:
    """(mean, std) safe to standardize with: 0 and 1 where there is nothing to
    learn from (no values, a constant column)."""
    mean = 0.0 if mean is None else float(mean)
    std = 1.0 if std is None or not float(std) > MIN_STD else float(std)
    return mean, std


def encode(per_table: dict[str, StoredTable]) -> str:
    """The ``column_stats`` value of ``plurel_meta`` (floats round-trip exactly)."""
    return json.dumps(per_table, sort_keys=True, separators=(",", ":"))


def to_stats(per_table: dict[str, StoredTable]) -> Stats:
    """Stored statistics as the loader uses them."""
    return {
        (table, column): usable(mean, std)
        for table, columns in per_table.items()
        for column, (mean, std, _count) in columns.items()
    }
