"""CHECK constraints evaluated on Arrow columns, and the repair of the ones that
relate two columns (``ship_date <= receipt_date``), which landing one column at a
time cannot satisfy.

Evaluation follows SQL: a CHECK fails only where it is FALSE (NULL passes). Values
are compared in each column's scale (:mod:`plurel_sql.schema.domains`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from plurel_sql.errors import SchemaError
from plurel_sql.generator.arrow import bool_values, float_values
from plurel_sql.generator.landing import _number_array, _temporal_array
from plurel_sql.schema.domains import column_domain, to_scale, unit
from plurel_sql.schema.ir import Atom, Check, Column, Table

MAX_REPAIR_PASSES = 8


def scaled(column: Column, values: pa.Array) -> pa.Array:
    """A column in its comparison scale: numbers float64, dates days, times and
    timestamps microseconds (int64), text and booleans as they are."""
    t = column.type
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if t.is_number:
        return values.cast(pa.float64())
    if t.name == "date":
        return values.cast(pa.int32()).cast(pa.int64())
    if t.name in ("timestamp", "timestamptz"):
        return values.cast(pa.timestamp("us", tz=values.type.tz)).cast(pa.int64())
    if t.name == "time":
        return values.cast(pa.time64("us")).cast(pa.int64())
    return values


def _atom_result(atom: Atom, columns: Mapping[str, pa.Array], table: Table) -> pa.Array:
    column = table.column(atom.column)
    left = scaled(column, columns[atom.column])
    if atom.length:
        left = pc.utf8_length(left)
    if atom.op == "not_null":
        return pc.is_valid(left)
    if atom.op in ("in", "not_in"):
        values = [v if atom.length else to_scale(v, column) for v in atom.values]
        found = pc.is_in(left, value_set=pa.array(values, type=left.type))
        found = pc.if_else(pc.is_null(left), pa.scalar(None, pa.bool_()), found)
        return pc.invert(found) if atom.op == "not_in" else found
    if atom.other is not None:
        right = scaled(table.column(atom.other), columns[atom.other])
    else:
        value = atom.values[0] if atom.length else to_scale(atom.values[0], column)
        right = pa.scalar(value, type=left.type)
    op = {
        "<": pc.less,
        "<=": pc.less_equal,
        ">": pc.greater,
        ">=": pc.greater_equal,
        "=": pc.equal,
        "<>": pc.not_equal,
    }[atom.op]
    return op(left, right)


def violations(check: Check, columns: Mapping[str, pa.Array], table: Table) -> np.ndarray:
    """Rows (bool mask) where ``check`` is FALSE."""
    result = None
    for atom in check.atoms:
        part = _atom_result(atom, columns, table)
        result = part if result is None else pc.and_kleene(result, part)
    assert result is not None
    false = pc.and_kleene(pc.invert(result), pc.is_valid(result))  # FALSE; NULL passes
    return bool_values(false)


def repair_pairs(table: Table, columns: dict[str, pa.Array]) -> None:
    """Make every CHECK that compares two value columns hold, in place: the right
    column moves next to the left one where it fails, else the left one does,
    else a nullable one becomes NULL. A CHECK still failing after that is a
    SchemaError naming it."""
    pair_checks = [
        c
        for c in table.checks
        if any(a.other for a in c.atoms) and all(n in columns for n in c.columns)
    ]
    for _ in range(MAX_REPAIR_PASSES):
        failing = [c for c in pair_checks if violations(c, columns, table).any()]
        if not failing:
            return
        for check in failing:
            for atom in check.atoms:
                if atom.other is not None:
                    _repair_atom(table, atom, columns)
    for check in pair_checks:
        if violations(check, columns, table).any():
            raise SchemaError(f"{table.name}: cannot satisfy CHECK ({check.sql}) on every row")


def _repair_atom(table: Table, atom: Atom, columns: dict[str, pa.Array]) -> None:
    check = Check([atom])
    bad = violations(check, columns, table)
    if not bad.any():
        return
    a_col, b_col = table.column(atom.column), table.column(atom.other)
    a = float_values(scaled(a_col, columns[atom.column]))
    b = float_values(scaled(b_col, columns[atom.other]))
    step = unit(b_col) or 1e-9 * max(1.0, float(np.abs(a).max(initial=0)))
    # the value b must take for "a op b" to hold, given a
    target = {"<": a + step, "<=": a, ">": a - step, ">=": a, "=": a, "<>": a + step}[atom.op]
    dom_b = column_domain(table, b_col)
    fits = bad & (target >= dom_b.lo) & (target <= dom_b.hi)
    b = np.where(fits, target, b)
    rest = bad & ~fits
    if rest.any():  # move a instead: a must relate to b as the flipped operator says
        back = {"<": b - step, "<=": b, ">": b + step, ">=": b, "=": b, "<>": b - step}[atom.op]
        a = np.where(rest, back, a)
    columns[atom.other] = _rebuild(b_col, b, columns[atom.other])
    columns[atom.column] = _rebuild(a_col, a, columns[atom.column])


def _rebuild(column: Column, values: np.ndarray, old: pa.Array) -> pa.Array:
    valid = bool_values(old.is_valid())
    keep = None if valid.all() else valid
    if column.type.is_number:
        return _number_array(column, values, keep)
    return _temporal_array(column, values, keep, whole_seconds=False)
