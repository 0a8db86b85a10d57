"""Tasks (one per feature column) and their temporal train/validation/test splits.

Every boolean or categorical feature column is a classification task and every
numeric one a regression task: mask the cell of one row and predict it. A row
with a time belongs to ``train`` before the validation cut-off, to ``val``
before the test cut-off and to ``test`` after; rows of tables without time go
to ``untimed_split`` (``train`` by default). Rows whose target is NULL are no
seed rows. Each seed row also gets its as-of time: its own timestamp, or the
last second of its split for rows without time -- nothing later may enter its
context.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np

from plurel_sql.dialects.loader_sql import NO_TIME
from plurel_sql.errors import PlurelError

if TYPE_CHECKING:
    from plurel_sql.loader.meta import Database

Split = Literal["train", "val", "test"]
SPLITS: tuple[Split, ...] = ("train", "val", "test")
UNTIMED_CHOICES = ("train", "val", "test", "none")
MAX_TIME = 2**63 - 1


class TaskError(PlurelError):
    """An unknown task or split name."""


@dataclass(frozen=True)
class Task:
    """Predict ``column`` of ``table``; ``sizes`` are the split sizes (seed rows)."""

    table: str
    column: str
    kind: Literal["classification", "regression"]
    sizes: dict[str, int] = field(default_factory=dict, compare=False, hash=False)

    @property
    def name(self) -> str:
        return f"{self.table}.{self.column}"


def check_split(split: str) -> Split:
    if split not in SPLITS:
        raise TaskError(f"unknown split {split!r}: expected one of {', '.join(SPLITS)}")
    return split  # type: ignore[return-value]


def check_untimed(untimed_split: str) -> str:
    if untimed_split not in UNTIMED_CHOICES:
        raise TaskError(
            f"unknown untimed_split {untimed_split!r}: expected one of {', '.join(UNTIMED_CHOICES)}"
        )
    return untimed_split


def split_bounds(db: Database, split: Split) -> tuple[int, int]:
    """[lo, hi) in seconds of the rows with time belonging to ``split``."""
    val, test = db.val_cutoff, db.test_cutoff
    return {"train": (NO_TIME + 1, val), "val": (val, test), "test": (test, MAX_TIME)}[split]


def untimed_asof(db: Database, split: Split) -> int:
    """As-of time of seed rows without time: the last second of their split."""
    return split_bounds(db, split)[1] - (0 if split == "test" else 1)


def tasks(db: Database, untimed_split: str = "train") -> list[Task]:
    """Every task of ``db`` with its split sizes (one counting query per table, on
    the database's read-only connection)."""
    check_untimed(untimed_split)
    conn = db.connection()
    out: list[Task] = []
    with db.engine.driver_errors():
        for t in db.schema.tables:
            cols = [c.name for c in t.cell_columns]
            if not cols:
                continue
            sql = db.dialect.split_counts_sql(t.name, cols, t.time_column)
            params = [db.val_cutoff, db.test_cutoff] * len(cols) if t.time_column else []
            row = db.dialect.run(conn, sql, params=params).to_pylist()[0]
            for i, c in enumerate(t.cell_columns):
                a, b, n = (int(row[f"{k}{i}"] or 0) for k in ("a", "b", "n"))
                if t.time_column:
                    sizes = {"train": a, "val": b - a, "test": n - b}
                else:
                    sizes = {s: (n if s == untimed_split else 0) for s in SPLITS}
                kind = "regression" if c.kind == "numeric" else "classification"
                out.append(Task(t.name, c.name, kind, sizes))
    return out


def find_task(task_list: list[Task], name: str) -> Task:
    """The task called ``table.column``; a one-line error listing a few names otherwise."""
    for t in task_list:
        if t.name == name:
            return t
    some = ", ".join(t.name for t in task_list[:5])
    more = ", ..." if len(task_list) > 5 else ""
    raise TaskError(f"unknown task {name!r}: expected TABLE.COLUMN, e.g. {some}{more}")


def split_rows(
    db: Database, task: Task, split: str, untimed_split: str = "train"
) -> tuple[np.ndarray, np.ndarray]:
    """Row ids and as-of times of the seed rows of ``task`` in ``split``."""
    split = check_split(split)
    check_untimed(untimed_split)
    table = db.schema.table(task.table)
    if table.time_column is None and untimed_split != split:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    sql = db.dialect.split_rows_sql(
        task.table, task.column, table.time_column, primary_key=table.row_key
    )
    params = list(split_bounds(db, split)) if table.time_column else []
    with db.engine.driver_errors():
        res = db.dialect.run(db.connection(), sql, params=params)
    rows = res.column("row_idx").to_numpy().astype(np.int64)
    if table.time_column is None:
        return rows, np.full(len(rows), untimed_asof(db, split), np.int64)
    return rows, res.column("ts").to_numpy().astype(np.int64)
