"""The reader side: tasks, temporal splits and SQL-sampled contexts for RFMs.

``open_database(url)`` reads what ``plurel-sql generate`` stored, ``tasks(db)``
lists the masked-cell tasks with their split sizes, and ``ContextDataset`` (torch)
yields batches of contexts sampled with SQL joins. ``ContextDataset`` is imported
lazily so the rest of the package works without torch.
"""

from __future__ import annotations

from typing import Any

from plurel_sql.loader.meta import Database, open_database
from plurel_sql.loader.sampler import DbSampler
from plurel_sql.loader.source import ContextSource
from plurel_sql.loader.tasks import SPLITS, Task, find_task, split_rows, tasks

__all__ = [
    "SPLITS",
    "ContextDataset",
    "ContextSource",
    "Database",
    "DbSampler",
    "Task",
    "find_task",
    "open_database",
    "split_rows",
    "tasks",
]


def __getattr__(name: str) -> Any:
    if name == "ContextDataset":
        from plurel_sql.loader.dataset import ContextDataset

        return ContextDataset
    raise AttributeError(name)
