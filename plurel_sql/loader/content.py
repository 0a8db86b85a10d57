"""Row contents: raw columns fetched from the engine turned into cell arrays.

Both samplers go through :func:`to_content`, so a cell's value is computed one
way only: numbers and datetimes standardized with the cached statistics,
booleans as 0/1, categorical labels as their index in the column's labels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from plurel_sql.dialects.base import Dialect
from plurel_sql.dialects.loader_sql import NO_TIME
from plurel_sql.loader.layout import (
    MAX_F2P,
    SEM_BOOLEAN,
    SEM_DATETIME,
    SEM_NUMBER,
    DbLayout,
    TableLayout,
)


@dataclass
class RowContent:
    """Cells of some rows of one table, sorted by ``row_idx``.

    ``values`` hold standardized numbers/datetimes and 0/1 booleans (0 for text
    cells), ``classes`` the label index of categorical cells (-1 otherwise),
    ``valid`` is False for NULL cells; ``parents`` are node ids (-1 padded).
    """

    row_idx: np.ndarray
    parents: np.ndarray
    values: np.ndarray
    classes: np.ndarray
    valid: np.ndarray
    ts: np.ndarray

    def take(self, rows: np.ndarray) -> np.ndarray:
        """Positions of ``rows`` (which must be present) in this content."""
        return np.searchsorted(self.row_idx, rows)


def fetch_columns(tl: TableLayout) -> dict[str, list[str]]:
    """Column groups the fetch query must return for table ``tl``."""
    kinds: dict[str, list[str]] = {"numeric": [], "boolean": [], "categorical": []}
    for c in tl.table.cell_columns:
        kinds[c.kind].append(c.name)
    return kinds


def fetch_sql(dialect: Dialect, tl: TableLayout, all_rows: bool = False) -> str:
    """The engine's fetch query for table ``tl``: the rows bound as ROW_IDS, or all."""
    kinds = fetch_columns(tl)
    return dialect.fetch_sql(
        tl.name,
        tl.fk_columns,
        kinds["numeric"],
        kinds["boolean"],
        kinds["categorical"],
        tl.table.time_column,
        all_rows=all_rows,
        primary_key=tl.table.row_key,
    )


def _int_column(table: pa.Table, name: str) -> np.ndarray:
    col = table.column(name)
    if col.null_count:
        col = pc.fill_null(col, -1)
    return col.to_numpy().astype(np.int64, copy=False)


def to_content(layout: DbLayout, tl: TableLayout, raw: pa.Table) -> RowContent:
    """Cells of the rows in ``raw`` (a fetch result, sorted by row_idx)."""
    n = raw.num_rows
    row_idx = _int_column(raw, "row_idx") if n else np.zeros(0, np.int64)
    parents = np.full((n, MAX_F2P), -1, dtype=np.int64)
    for j, (fk, p) in enumerate(zip(tl.fk_columns[:MAX_F2P], tl.parent_idxs, strict=False)):
        ids = _int_column(raw, f"fk:{fk}") if n else np.zeros(0, np.int64)
        parents[:, j] = np.where(ids >= 0, ids + layout.tables[p].node_offset, -1)
    values = np.zeros((n, tl.width), dtype=np.float32)
    classes = np.full((n, tl.width), -1, dtype=np.int64)
    valid = np.zeros((n, tl.width), dtype=bool)
    ts = _int_column(raw, "ts") if n else np.zeros(0, np.int64)
    kinds = {c.name: c.kind for c in tl.table.cell_columns}
    for j, cell in enumerate(tl.cells):
        if n == 0:
            break
        if cell.sem_type == SEM_DATETIME:
            ok = ts != NO_TIME
            values[:, j] = np.where(ok, (ts.astype(np.float64) - cell.mean) / cell.std, 0.0)
            valid[:, j] = ok
            continue
        kind = kinds[cell.column]
        if kind == "categorical":
            col = raw.column(f"c:{cell.column}").cast(pa.string())
            codes = pc.index_in(col, value_set=pa.array(list(cell.labels), pa.string()))
            codes = pc.fill_null(codes, -1).to_numpy().astype(np.int64)
            classes[:, j] = codes
            valid[:, j] = codes >= 0
            continue
        prefix = "n:" if kind == "numeric" else "b:"
        x = raw.column(prefix + cell.column).cast(pa.float64()).to_numpy(zero_copy_only=False)
        x = np.asarray(x, dtype=np.float64)
        ok = ~np.isnan(x)
        if cell.sem_type == SEM_NUMBER:
            x = (x - cell.mean) / cell.std
        elif cell.sem_type != SEM_BOOLEAN:  # pragma: no cover - layout invariant
            raise AssertionError(cell)
        values[:, j] = np.where(ok, x, 0.0)
        valid[:, j] = ok
    return RowContent(row_idx, parents, values, classes, valid, ts)
