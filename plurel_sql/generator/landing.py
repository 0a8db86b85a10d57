"""Per-column value landing: one column's raw SCM output -> a typed Arrow column
that satisfies the column's declared type and its own CHECK conditions.

:func:`land_column` is the one entry point. The SCM's values keep their order
(a monotone map of their ranks onto the column's range), so the dependencies the
causal model drew survive; what changes is the scale:

- numbers: integers within the type's range, NUMERIC rounded to its scale within
  its precision, an IN list by quantiles of the raw values; ranges come from the
  CHECK bounds, else ``DEFAULT_SPAN`` units above the lower bound (0);
- DATE / TIMESTAMP [WITH TIME ZONE]: within the database time window (and the
  CHECK bounds), TIMESTAMPs on whole seconds; TIME within the day;
- BOOLEAN: category > 0; categorical columns (IN lists, ENUMs): their labels;
- text: one label per SCM category, within the declared / checked lengths (CHAR(n)
  exactly n characters, so every engine stores the same text);
- UUID: random version-4 UUIDs from the column's stream;
- NULLs: ``spec.nulls`` random rows of a nullable column.

Name-aware plausible scales and text vocabularies come from ``spec.rule``
(plurel_sql.values, docs/schemas.md "Plausible values"): a number's range is the
rule's range inside the type and CHECK bounds, spread by the rule's distribution;
dates use the rule's window; text comes from the rule's vocabulary. Constraints
stay this module's job.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import re
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from plurel_sql.generator.arrow import (
    bool_array,
    float64_array,
    int64_array,
    numpy_array,
    string_dictionary,
    with_nulls,
)
from plurel_sql.generator.keys import DAY_US, SECOND_US, decimal_array
from plurel_sql.schema.arrow import arrow_type, decimal_params
from plurel_sql.schema.domains import Domain, type_bounds, unit
from plurel_sql.schema.ir import Column
from plurel_sql.schema.sqltypes import SqlType
from plurel_sql.uuids import uuid_array
from plurel_sql.values.numbers import spread
from plurel_sql.values.plan import date_window, number_range
from plurel_sql.values.rules import DateRule, NumberRule, Rule, TextRule
from plurel_sql.values.text import ColumnText, TextLimits, text_values

DEFAULT_SPAN = 1000  # units of a number column bounded on at most one side


@dataclass
class ColumnSpec:
    """What landing needs to know about one column."""

    table: str
    column: Column
    domain: Domain
    min_date: str  # the database window (ISO dates)
    max_date: str
    num_rows: int
    nulls: int = 0  # rows to set NULL (ignored for NOT NULL columns)
    seed: int = 0  # the database seed (plausible text draws its vocabularies from it)
    rule: Rule | None = None  # the plausible scale or vocabulary (plurel_sql.values)


def land_column(spec: ColumnSpec, raw: np.ndarray | None, rng: np.random.Generator) -> pa.Array:
    """The column's values as an Arrow array of its declared type (see module doc).

    ``raw`` is the SCM's output for the column (numbers, or category codes for
    categorical nodes); None for columns the SCM does not compute (UUIDs)."""
    column = spec.column
    t = column.type
    n = spec.num_rows
    valid = _valid_rows(spec, n, rng)
    raw = informative(spec, raw, rng)
    if t.name == "uuid":
        return uuid_array(random_uuids(n, rng), valid)
    if t.name == "boolean":
        allowed = spec.domain.allowed
        flags = np.full(n, bool(allowed[0])) if allowed else np.asarray(raw) > 0
        return with_nulls(bool_array(flags), valid)
    if column.labels is not None or t.name == "enum":
        return _labels(spec, raw, valid)
    rule = spec.rule
    if t.is_text:
        if isinstance(rule, TextRule) and not spec.domain.excluded:
            return with_nulls(_plausible_text(spec, rule, raw), valid)
        return _text(spec, raw, valid)
    if t.is_number and spec.domain.allowed is not None:
        values = np.array(sorted(spec.domain.allowed), dtype=np.float64)
        picked = values[_quantile_index(raw, len(values))]
        return _number_array(column, picked, valid)
    if isinstance(rule, DateRule):
        first, last = date_window(rule, spec.min_date, spec.max_date)
        spec = dataclasses.replace(spec, min_date=first, max_date=last)
    lo, hi = value_range(spec)
    fitted = _plausible_range(t, rule, spec.domain)
    if fitted is not None:
        lo, hi = fitted
        scaled = spread(raw, lo, hi, rule.distribution, rule.integral or t.is_integer)
    elif t.name in ("real", "double") and not spec.domain.bounded:  # the SCM's own scale
        scaled = np.nan_to_num(np.asarray(raw, dtype=np.float64), posinf=0.0, neginf=0.0)
    else:
        scaled = lo + ranks(raw) * (hi - lo)
    scaled = _avoid(scaled, spec.domain, column, lo, hi)
    if t.is_number:
        return _number_array(column, scaled, valid)
    return _temporal_array(column, scaled, valid)


def informative(
    spec: ColumnSpec, raw: np.ndarray | None, rng: np.random.Generator
) -> np.ndarray | None:
    """The SCM's output for a column, unless it holds one value on every row (a
    categorical node whose decoder always picks the same class, a saturated node):
    the method drops such columns from random schemas, but a user's declared column
    must stay, and landed as it is it would be constant (every ``status`` 'deleted',
    every last name the same). Such a column is drawn from its own stream instead
    (it carried no dependency to keep): category codes with Dirichlet(1) class
    shares, so some labels are common and others rare, and numbers standard
    normal, which land spread over the column's range or vocabulary."""
    if raw is None:
        return None
    values = np.asarray(raw)
    if values.size < 2 or not (values == values.flat[0]).all():
        return raw
    if np.issubdtype(values.dtype, np.integer):
        allowed = spec.domain.allowed
        k = spec.column.num_categories or (len(allowed) if allowed else 2)
        shares = rng.dirichlet(np.ones(k))
        return rng.choice(k, size=values.size, p=shares).astype(values.dtype)
    return rng.standard_normal(values.size)


def random_uuids(n: int, rng: np.random.Generator) -> np.ndarray:
    out = rng.integers(0, 256, size=(n, 16), dtype=np.uint8)
    out[:, 6] = (out[:, 6] & 0x0F) | 0x40
    out[:, 8] = (out[:, 8] & 0x3F) | 0x80
    return out


def ranks(raw: np.ndarray) -> np.ndarray:
    """Each value's rank position in (0, 1), ties broken by row (stable)."""
    x = np.asarray(raw, dtype=np.float64)
    x = np.where(np.isnan(x), -np.inf, x)
    out = np.empty(len(x), dtype=np.float64)
    out[np.argsort(x, kind="stable")] = (np.arange(len(x)) + 0.5) / max(len(x), 1)
    return out


def _quantile_index(raw: np.ndarray, k: int) -> np.ndarray:
    return np.minimum((ranks(raw) * k).astype(np.int64), k - 1)


def value_range(spec: ColumnSpec) -> tuple[float, float]:
    """The inclusive range a number or date/time column's values are spread over."""
    column, domain = spec.column, spec.domain
    t = column.type
    lo, hi = domain.lo, domain.hi
    if t.name in ("date", "timestamp", "timestamptz"):
        start = (dt.date.fromisoformat(spec.min_date) - dt.date(1970, 1, 1)).days
        end = (dt.date.fromisoformat(spec.max_date) - dt.date(1970, 1, 1)).days
        if t.name != "date":
            start, end = start * DAY_US, end * DAY_US + DAY_US - SECOND_US
        wlo, whi = max(lo, start), min(hi, end)
        return (wlo, whi) if wlo <= whi else (lo if math.isfinite(lo) else hi,) * 2
    if t.name == "time":
        return lo, hi
    type_lo, type_hi = type_bounds(column)
    if lo <= type_lo and hi >= type_hi:  # no CHECK bound: DEFAULT_SPAN from 0
        lo = max(0.0, type_lo)
        hi = min(lo + DEFAULT_SPAN, type_hi)
    elif hi >= type_hi:
        hi = min(lo + DEFAULT_SPAN, type_hi)
    elif lo <= type_lo:
        lo = max(hi - DEFAULT_SPAN, type_lo)
    return _snap(t, lo, hi)


def _plausible_range(t: SqlType, rule: Rule | None, domain: Domain) -> tuple[float, float] | None:
    """A number rule's range inside the column's domain, on values the type holds
    (None: no rule, or the two do not meet and the declared constraints win)."""
    if not isinstance(rule, NumberRule):
        return None
    fitted = number_range(rule, domain.lo, domain.hi)
    if fitted is None:
        return None
    lo, hi = _snap(t, *fitted, whole=rule.integral)
    return (lo, hi) if lo <= hi else None


def _snap(t: SqlType, lo: float, hi: float, whole: bool = False) -> tuple[float, float]:
    """``[lo, hi]`` shrunk to values the type (or whole numbers) can hold."""
    if t.is_integer or whole:
        return math.ceil(lo), math.floor(hi)
    if t.name == "numeric":
        step = 10.0 ** -decimal_params(t)[1]
        return math.ceil(lo / step - 1e-9) * step, math.floor(hi / step + 1e-9) * step
    return lo, hi


def _avoid(values: np.ndarray, domain: Domain, column: Column, lo: float, hi: float):
    """Values moved off the excluded ones (``<>`` / NOT IN) to a neighbour in range."""
    if not domain.excluded:
        return values
    step = unit(column) or max(abs(hi - lo) * 1e-9, 1e-12)
    out = _round(column, values.copy())
    for _ in range(len(domain.excluded) + 1):
        bad = np.isin(out, list(domain.excluded))
        if not bad.any():
            break
        up = out[bad] + step
        out[bad] = np.where(up <= hi, up, out[bad] - step)
    return out


def _round(column: Column, values: np.ndarray, whole_seconds: bool = True) -> np.ndarray:
    t = column.type
    if t.is_integer or t.name in ("date", "time"):
        return np.floor(values)
    if t.name in ("timestamp", "timestamptz"):
        if not whole_seconds:
            return np.round(values)
        return np.floor(values / SECOND_US) * SECOND_US
    if t.name == "numeric":
        scale = decimal_params(t)[1]
        return np.round(values, scale)
    return values


def _number_array(column: Column, values: np.ndarray, valid: np.ndarray | None) -> pa.Array:
    t = column.type
    target = arrow_type(t)
    values = _round(column, np.asarray(values, dtype=np.float64))
    if t.is_integer:
        return with_nulls(int64_array(values.astype(np.int64)).cast(target), valid)
    if t.name == "numeric":
        scale = decimal_params(t)[1]
        unscaled = np.round(values * 10.0**scale).astype(np.int64)
        return decimal_array(unscaled, target, valid)
    if t.name == "real":
        return with_nulls(numpy_array(values.astype(np.float32)), valid)
    return float64_array(values, null=None if valid is None else ~valid)


def _temporal_array(
    column: Column, values: np.ndarray, valid: np.ndarray | None, whole_seconds: bool = True
) -> pa.Array:
    t = column.type
    values = _round(column, values, whole_seconds).astype(np.int64)
    if t.name == "date":
        return with_nulls(numpy_array(values.astype(np.int32)).cast(pa.date32()), valid)
    return with_nulls(int64_array(values, arrow_type(t)), valid)


def _labels(spec: ColumnSpec, raw: np.ndarray, valid: np.ndarray | None) -> pa.Array:
    """Category codes -> the column's labels that its CHECKs allow."""
    labels = list(spec.domain.allowed if spec.domain.allowed is not None else [])
    if not labels:
        raise ValueError(f"{spec.table}.{spec.column.name}: no label is allowed")
    codes = np.asarray(raw)
    if not np.issubdtype(codes.dtype, np.integer):
        codes = _quantile_index(codes, len(labels))
    picked = string_dictionary(labels).take(int64_array(codes.astype(np.int64) % len(labels)))
    return with_nulls(picked, valid)


def text_labels(spec: ColumnSpec, k: int) -> list[str]:
    """``k`` distinct labels for a free-text column, within its length limits:
    a short slug of the column name and the category number (CHAR(n): exactly n
    characters)."""
    domain = spec.domain
    slug = re.sub(r"[^a-z0-9]+", "_", spec.column.name.lower()).strip("_") or "value"
    longest = domain.max_length or 64
    out = []
    for code in range(k):
        number = str(code + 1)
        text = f"{slug[: max(longest - len(number) - 1, 0)]}_{number}"
        if len(text) > longest:
            text = number[-longest:]
        out.append(text.ljust(domain.min_length, "x"))
    excluded = {str(v) for v in domain.excluded}
    return [t for t in out if t not in excluded] or out


def _text(spec: ColumnSpec, raw: np.ndarray, valid: np.ndarray | None) -> pa.Array:
    codes = np.asarray(raw)
    k = spec.column.num_categories or 10
    if not np.issubdtype(codes.dtype, np.integer):
        codes = _quantile_index(codes, k)
    labels = text_labels(spec, int(max(codes.max(initial=0) + 1, k)))
    picked = string_dictionary(labels).take(int64_array(codes.astype(np.int64) % len(labels)))
    return with_nulls(picked, valid)


def _plausible_text(spec: ColumnSpec, rule: TextRule, raw: np.ndarray) -> pa.Array:
    """Values from the rule's vocabulary (plurel_sql.values.text) within the
    column's lengths; CHAR(n) is padded with spaces, as the engines pad it."""
    domain, column = spec.domain, spec.column
    pad = " " if column.type.name == "char" else "x"
    limits = TextLimits(domain.max_length, domain.min_length, pad)
    text = ColumnText(spec.seed, spec.table, column.name, rule, limits)
    return text_values(text, raw)


def _valid_rows(spec: ColumnSpec, n: int, rng: np.random.Generator) -> np.ndarray | None:
    """False for the rows set NULL (None: no NULLs)."""
    if not spec.column.nullable or spec.domain.not_null or spec.nulls <= 0 or n == 0:
        return None
    valid = np.ones(n, dtype=bool)
    valid[rng.choice(n, size=min(spec.nulls, n), replace=False)] = False
    return valid
