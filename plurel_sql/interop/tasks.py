"""The masked-cell tasks (:mod:`plurel_sql.loader.tasks`) as RelBench v3 task folders.

Our task "predict column C of a row of table T from what was known at the row's
time" is RelBench's ``autocomplete`` task: the target is an existing column of the
entity table, hidden from the database, and the label table holds every row of T
whose time falls in the split's window. RelBench builds the labels itself from the
database and the manifest's timestamps (no label files are shipped), so they are
exactly RelBench's semantics, and with our cut-offs moved one microsecond
(:func:`~plurel_sql.interop.layout.relbench_timestamp`) the split sizes equal ours.

What RelBench v3 cannot express, and is therefore left out (docs/relbench.md):

- tasks on tables without a time column: RelBench splits only by time (ours put
  those rows in ``untimed_split``);
- tasks on tables without a RelBench row key (``autocomplete`` labels are keyed by
  it);
- columns whose names RelBench's generated SQL and pandas queries cannot use
  unquoted (not identifiers, or SQL reserved words).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from plurel_sql.interop.layout import RelBenchTable, is_query_name
from plurel_sql.schema.ir import Schema

#: DuckDB's reserved words: RelBench's autocomplete SQL names columns unquoted.
RESERVED = frozenset(
    [
        "all",
        "analyse",
        "analyze",
        "and",
        "any",
        "array",
        "as",
        "asc",
        "asymmetric",
        "both",
        "case",
        "cast",
        "check",
        "collate",
        "column",
        "constraint",
        "create",
        "default",
        "deferrable",
        "desc",
        "describe",
        "distinct",
        "do",
        "else",
        "end",
        "except",
        "false",
        "fetch",
        "for",
        "foreign",
        "from",
        "group",
        "having",
        "in",
        "initially",
        "intersect",
        "into",
        "lambda",
        "lateral",
        "leading",
        "limit",
        "not",
        "null",
        "offset",
        "on",
        "only",
        "or",
        "order",
        "pivot",
        "pivot_longer",
        "pivot_wider",
        "placing",
        "primary",
        "qualify",
        "references",
        "returning",
        "select",
        "show",
        "some",
        "summarize",
        "symmetric",
        "table",
        "then",
        "to",
        "trailing",
        "true",
        "union",
        "unique",
        "unpivot",
        "using",
        "variadic",
        "when",
        "where",
        "window",
        "with",
    ]
)


def usable_name(name: str) -> bool:
    return is_query_name(name) and name.lower() not in RESERVED


@dataclass(frozen=True)
class RelBenchTask:
    """One task folder: ``tasks/<name>/manifest.yaml``."""

    name: str
    table: str
    column: str
    task_type: str

    def manifest(self) -> dict[str, Any]:
        """RelBench's ``TaskManifest`` fields, in its key order."""
        return {
            "name": self.name,
            "kind": "autocomplete",
            "task_type": self.task_type,
            "description": (
                f"plurel-sql masked-cell task: predict {self.column} of a {self.table} row "
                "from the database as of the row's time"
            ),
            "entity_table": self.table,
            "target_col": self.column,
            "manifest_version": 1,
        }


def relbench_tasks(
    schema: Schema, tables: dict[str, RelBenchTable]
) -> tuple[list[RelBenchTask], list[str]]:
    """The tasks RelBench can express, and one line per task it cannot (why)."""
    out: list[RelBenchTask] = []
    skipped: list[str] = []
    for table in schema.tables:
        entry = tables[table.name]
        for column in table.cell_columns:
            name = f"{table.name}.{column.name}"
            if entry.time_col is None:
                skipped.append(f"{name}: table has no RelBench time column")
            elif entry.pkey is None:
                skipped.append(f"{name}: table has no RelBench row key")
            elif not all(map(usable_name, (column.name, entry.pkey, entry.time_col))):
                skipped.append(f"{name}: a column name RelBench's SQL cannot use unquoted")
            elif any(ch in name for ch in "/\\\0"):
                skipped.append(f"{name}: not usable as a folder name")
            else:
                kind = column.kind
                task_type = {
                    "numeric": "regression",
                    "boolean": "binary_classification",
                }.get(kind, "multiclass_classification")
                out.append(RelBenchTask(name, table.name, column.name, task_type))
    return out, skipped
