"""How a table's key columns are produced so that every PRIMARY KEY and UNIQUE
constraint holds by construction (docs/schemas.md, "Keys").

For each unique column set (the primary key first, then UNIQUE constraints), with F
its foreign-key columns and R the others:

- a column of R already unique by itself: nothing to do;
- R empty, F exactly one foreign key: that key is one-to-one (each parent row at
  most once, drawn without replacement);
- R empty otherwise (a bridge table such as partsupp): the tuples of the links are
  made distinct;
- F empty, or a one-column set: the last column of R takes values derived from the
  row number (0, 1, 2, ... on its type: integers, decimals, zero-padded codes,
  time-ordered UUIDs, days or seconds after the window start);
- otherwise the last column of R numbers the rows within each group of equal F
  values (a line number: 0, 1, 2, ... per order).

Columns produced this way are not value columns (:attr:`Table.features`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # ir.py imports this module (Table.features): no cycle at run time
    from plurel_sql.schema.ir import Table

#: Types a row-derived or per-group unique value can take.
KEY_TYPES = (
    "tinyint",
    "smallint",
    "integer",
    "bigint",
    "numeric",
    "char",
    "varchar",
    "text",
    "uuid",
    "date",
    "timestamp",
    "timestamptz",
)


@dataclass
class Sequence:
    """``column`` numbers the rows within each group of equal ``group`` values."""

    column: str
    group: list[str]


@dataclass
class KeyPlan:
    row_numbers: list[str] = field(default_factory=list)
    sequences: list[Sequence] = field(default_factory=list)
    distinct_links: list[list[str]] = field(default_factory=list)
    one_to_one: list[int] = field(default_factory=list)  # indexes into table.foreign_keys

    @property
    def generated(self) -> set[str]:
        """Columns whose values come from the row number or a group sequence."""
        return set(self.row_numbers) | {s.column for s in self.sequences}


def unique_sets(table: Table) -> list[tuple[str, list[str]]]:
    """(label, columns) of the primary key and every UNIQUE constraint."""
    sets = [("primary key", table.primary_key)] if table.primary_key else []
    sets += [(f"UNIQUE ({', '.join(u.columns)})", u.columns) for u in table.unique]
    return sets


def plan_keys(table: Table) -> tuple[KeyPlan, list[str]]:
    """The key plan of ``table`` and the problems that make it impossible."""
    plan = KeyPlan()
    problems: list[str] = []
    fk_columns = {c for fk in table.foreign_keys for c in fk.columns}
    types = {c.name: c.type for c in table.columns}
    for label, columns in unique_sets(table):
        rest = [c for c in columns if c not in fk_columns]
        links = [c for c in columns if c in fk_columns]
        if any(c in plan.row_numbers for c in rest):
            continue
        if not rest:
            exact = [
                i for i, fk in enumerate(table.foreign_keys) if set(fk.columns) == set(columns)
            ]
            if exact:
                if exact[0] not in plan.one_to_one:
                    plan.one_to_one.append(exact[0])
            elif columns not in plan.distinct_links:
                plan.distinct_links.append(list(columns))
            continue
        usable = [c for c in rest if types[c].name in KEY_TYPES]
        if not usable:
            bad = rest[-1]
            problems.append(
                f"{table.name}.{bad}: a {types[bad].sql()} column cannot make the {label} unique"
            )
            continue
        column = usable[-1]
        taken = [s for s in plan.sequences if s.column == column]
        if not links or len(columns) == 1 or (taken and taken[0].group != links):
            plan.sequences = [s for s in plan.sequences if s.column != column]
            plan.row_numbers.append(column)
        elif not taken:
            plan.sequences.append(Sequence(column, links))
    return plan, problems
