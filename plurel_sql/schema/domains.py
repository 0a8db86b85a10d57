"""The set of values a column may take: its type's range intersected with the CHECK
conjuncts that mention only this column.

Values are compared in one numeric scale per type family: numbers as themselves,
DATE as days since 1970-01-01, TIMESTAMP [WITH TIME ZONE] and TIME as microseconds
(since 1970-01-01 UTC, since midnight); text by its labels and its length. A domain
that no value satisfies is a problem naming the CHECK (reported before generation).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

from plurel_sql.schema.ir import Atom, Check, Column, Table

EPOCH = dt.datetime(1970, 1, 1)


def to_scale(value: Any, column: Column) -> float | int | str | bool:
    """A CHECK literal in the column's comparison scale (see module docstring)."""
    name = column.type.name
    if isinstance(value, str) and name == "date":
        return (dt.date.fromisoformat(value[:10]) - EPOCH.date()).days
    if isinstance(value, str) and name in ("timestamp", "timestamptz"):
        moment = dt.datetime.fromisoformat(value)
        if moment.tzinfo is not None:
            moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
        return (moment - EPOCH) // dt.timedelta(microseconds=1)
    if isinstance(value, str) and name == "time":
        t = dt.time.fromisoformat(value)
        return ((t.hour * 60 + t.minute) * 60 + t.second) * 1_000_000 + t.microsecond
    if column.type.is_number and isinstance(value, str):
        return float(value)
    return value


def unit(column: Column) -> float:
    """The smallest step between two values of the column in its scale."""
    t = column.type
    if t.is_integer or t.name in ("date", "time", "timestamp", "timestamptz"):
        return 1
    if t.name == "numeric":
        return 10.0 ** -(t.scale if t.precision is not None else 3)
    return 0.0  # REAL / DOUBLE: the next float (see Domain.bounds)


@dataclass
class Domain:
    """Allowed values of one column (bounds in its scale, inclusive after
    adjustment for strict comparisons)."""

    column: Column
    lo: float = -math.inf
    hi: float = math.inf
    allowed: list[Any] | None = None  # IN list (already intersected)
    excluded: set[Any] = field(default_factory=set)
    min_length: int = 0
    max_length: int | None = None
    not_null: bool = False
    problems: list[str] = field(default_factory=list)

    @property
    def bounded(self) -> bool:
        return math.isfinite(self.lo) or math.isfinite(self.hi)

    def admits(self, value: Any) -> bool:
        if value in self.excluded:
            return False
        if isinstance(value, str):
            return self.min_length <= len(value) <= (self.max_length or len(value))
        if isinstance(value, bool):
            return True
        return self.lo <= value <= self.hi


def type_bounds(column: Column) -> tuple[float, float]:
    """The declared type's own value range in the column's scale."""
    t = column.type
    if t.is_integer:
        lo, hi = t.integer_range()
        return lo, min(hi, (1 << 63) - 1)
    if t.name == "numeric":
        precision, scale = (t.precision, t.scale or 0) if t.precision else (18, 3)  # DECIMAL(18, 3)
        top = 10.0 ** (precision - scale) - 10.0**-scale
        return (0.0 if t.unsigned else -top), top
    if t.name == "time":
        return 0, 86_400_000_000 - 1
    if t.unsigned:  # DOUBLE UNSIGNED
        return 0, math.inf
    return -math.inf, math.inf


def column_domain(table: Table, column: Column) -> Domain:
    """The domain of ``column`` under the type and the single-column CHECK atoms."""
    domain = Domain(column)
    domain.lo, domain.hi = type_bounds(column)
    t = column.type
    if t.is_text and t.length:
        domain.max_length = t.length
        if t.name == "char":
            domain.min_length = t.length
    if t.name == "enum" or column.labels is not None:
        domain.allowed = list(column.labels or t.labels or [])
    for check in table.checks:
        for atom in check.atoms:
            if atom.column != column.name and atom.other != column.name:
                continue
            if atom.other is not None:
                _check_pair(table, check, atom, domain)
            elif atom.column == column.name:
                _apply(domain, atom, check)
    if domain.allowed is not None:
        kept = [v for v in domain.allowed if domain.admits(v)]
        if not kept:
            domain.problems.append(_unsatisfiable(table, column, "no listed value is allowed"))
        domain.allowed = kept
    elif domain.lo > domain.hi or (
        domain.max_length is not None and domain.min_length > domain.max_length
    ):
        domain.problems.append(_unsatisfiable(table, column, "the conditions exclude every value"))
    return domain


def _unsatisfiable(table: Table, column: Column, why: str) -> str:
    checks = [c.sql for c in table.checks if column.name in c.columns]
    shown = "; ".join(f"CHECK ({s})" for s in checks) or column.type.sql()
    return f"{table.name}.{column.name}: cannot be satisfied ({why}): {shown}"


def _apply(domain: Domain, atom: Atom, check: Check) -> None:
    column = domain.column
    if atom.op == "not_null":
        domain.not_null = True
        return
    if atom.length:
        n = int(atom.values[0]) if atom.op not in ("in", "not_in") else None
        if atom.op in ("<", "<="):
            top = n - (atom.op == "<")
            domain.max_length = top if domain.max_length is None else min(domain.max_length, top)
        elif atom.op in (">", ">="):
            domain.min_length = max(domain.min_length, n + (atom.op == ">"))
        elif atom.op == "=":
            domain.min_length = max(domain.min_length, n)
            domain.max_length = n if domain.max_length is None else min(domain.max_length, n)
        elif atom.op == "<>" and n == 0:
            domain.min_length = max(domain.min_length, 1)
        else:
            domain.problems.append(
                f"{check.sql}: length() {atom.op} is not supported on {column.name}"
            )
        return
    values = [to_scale(v, column) for v in atom.values]
    if atom.op == "in":
        allowed = values if domain.allowed is None else [v for v in domain.allowed if v in values]
        domain.allowed = allowed
    elif atom.op == "not_in" or atom.op == "<>":
        domain.excluded.update(values)
    elif atom.op == "=":
        domain.allowed = [v for v in (domain.allowed or values) if v == values[0]]
    elif isinstance(values[0], str | bool):
        domain.problems.append(
            f"{column.name}: CHECK ({check.sql}): {atom.op} on text is not supported"
        )
    else:
        step = unit(column)
        value = float(values[0])
        if atom.op in (">", ">="):
            bound = value + (_above(value, step) if atom.op == ">" else 0)
            domain.lo = max(domain.lo, bound)
        else:
            bound = value - (_above(value, step) if atom.op == "<" else 0)
            domain.hi = min(domain.hi, bound)


def _above(value: float, step: float) -> float:
    """How far above ``value`` the next allowed value lies."""
    if step:
        return step
    return math.nextafter(value, math.inf) - value if math.isfinite(value) else 0.0


def _check_pair(table: Table, check: Check, atom: Atom, domain: Domain) -> None:
    """A column-column comparison needs columns of the same type family."""
    if atom.column != domain.column.name:
        return
    a, b = table.column(atom.column).type, table.column(atom.other).type
    same = (a.is_number and b.is_number) or (a.name == b.name and a.is_temporal)
    if not same or atom.op not in ("<", "<=", ">", ">=", "=", "<>"):
        domain.problems.append(
            f"{table.name}.{atom.column}: CHECK ({check.sql}) compares {a.sql()} with "
            f"{b.sql()}; only numbers or equal date/time types can be compared"
        )
