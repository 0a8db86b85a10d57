"""Values of key columns, built so that keys are unique and links resolve.

- :func:`row_values`: a column unique by itself takes a value derived from the row
  number, increasing with it (so a table with such a key is emitted in key order):
  integers and decimals ``base + row``, zero-padded digit codes, time-ordered UUIDs,
  days or seconds after the window start, or the row-th label of an IN list.
- :func:`group_sequence`: a column that makes a composite key unique numbers the
  rows within each group of equal link values (``base``, ``base + 1``, ...).
- :func:`make_distinct`: link tuples that must be distinct (bridge tables, one-to-one
  keys) are redrawn from the block model until they are, then any left are moved to
  the nearest unused parent row.
- :func:`forest_links`: a self reference points at an earlier row (never itself), so
  the links form a forest.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable

import numpy as np
import pyarrow as pa

from plurel_sql.generator.arrow import int64_array, numpy_array, string_dictionary
from plurel_sql.rng import Draw, Name, key_seed
from plurel_sql.schema.arrow import arrow_type, decimal_params
from plurel_sql.schema.domains import Domain, column_domain
from plurel_sql.schema.ir import Column, Schema, Table
from plurel_sql.uuids import uuid_array
from plurel_sql.values.plan import unique_text

DISTINCT_ROUNDS = 8
SECOND_US = 1_000_000
DAY_US = 86_400 * SECOND_US


def _epoch_days(day: str) -> int:
    return (dt.date.fromisoformat(day) - dt.date(1970, 1, 1)).days


def _base(domain: Domain) -> float:
    """The first row-derived value: 0, or the domain's lower bound when above it."""
    lo = domain.lo if math.isfinite(domain.lo) else 0
    return max(lo, 0) if domain.hi >= 0 else lo


def _code_width(domain: Domain, num_rows: int) -> int:
    digits = max(1, len(str(max(num_rows - 1, 0))))
    width = max(domain.min_length, digits)
    return min(width, domain.max_length) if domain.max_length else width


def unique_capacity(table: Table, column: Column) -> int:
    """How many distinct row-derived values the column can take."""
    domain = column_domain(table, column)
    if domain.allowed is not None:
        return len(domain.allowed)
    t = column.type
    if t.is_integer or t.name == "numeric":
        step = 1 if t.is_integer else 10.0 ** -decimal_params(t)[1]
        span = (domain.hi - _base(domain)) / step
        return int(min(span + 1, 1 << 62)) if math.isfinite(span) else 1 << 62
    if t.is_text:
        width = domain.max_length or 18
        return 10 ** min(width, 18)
    return 1 << 62


def row_values(
    table: Table, column: Column, rows: np.ndarray, schema: Schema, seed: int
) -> pa.Array:
    """The row-derived values of ``column`` for ``rows`` (see the module docstring)."""
    domain = column_domain(table, column)
    t = column.type
    rows = np.asarray(rows, dtype=np.int64)
    target = arrow_type(t)
    if domain.allowed is not None:
        labels = sorted(domain.allowed) if not t.is_text else list(domain.allowed)
        return string_dictionary([str(v) for v in labels]).take(int64_array(rows)).cast(target)
    if t.is_integer:
        values = _skip(rows + int(_base(domain)), domain.excluded, 1)
        return int64_array(values).cast(target)
    if t.name == "numeric":
        _, scale = decimal_params(t)
        excluded = {round(float(v) * 10**scale) for v in domain.excluded}
        unscaled = _skip(rows + int(round(_base(domain) * 10**scale)), excluded, 1)
        return decimal_array(unscaled, target)
    if t.is_text:
        plausible = unique_text(table, column, rows, schema, seed)  # e-mails, names, ...
        if plausible is not None:
            return plausible.cast(target)
        return digit_codes(rows, _code_width(domain, table.num_rows)).cast(target)
    if t.name == "uuid":
        return uuid_array(
            ordered_uuids(rows, key_seed(seed, Draw.KEYS, Name(table.name), Name(column.name)))
        )
    start = _epoch_days(schema.min_date)
    if t.name == "date":
        return numpy_array((rows + start).astype(np.int32)).cast(target)
    if t.name in ("timestamp", "timestamptz"):
        us = start * DAY_US + rows * SECOND_US
        return int64_array(us, target)
    raise ValueError(f"{table.name}.{column.name}: no row-derived values for {t.sql()}")


def _skip(values: np.ndarray, excluded: set, step: int) -> np.ndarray:
    """Increasing values moved past the excluded ones (``CHECK (x <> 0)``): every
    value at or above an excluded one shifts up by one step, in increasing order."""
    for value in sorted(float(v) for v in excluded):
        values = values + step * (values >= value)
    return values


def digit_codes(values: np.ndarray, width: int) -> pa.Array:
    """Zero-padded decimal codes of non-negative integers, ``width`` characters each
    (built from one byte matrix, no Python loop over rows)."""
    values = np.asarray(values, dtype=np.int64)
    n = len(values)
    exact = min(width, 18)
    powers = 10 ** np.arange(exact - 1, -1, -1, dtype=np.int64)
    chars = np.full((n, width), ord("0"), dtype=np.uint8)
    chars[:, width - exact :] = (values[:, None] // powers) % 10 + ord("0")
    offsets = np.arange(n + 1, dtype=np.int32) * width
    return pa.Array.from_buffers(
        pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(chars.tobytes())]
    )


def decimal_array(unscaled: np.ndarray, target: pa.DataType, valid: np.ndarray | None = None):
    """A decimal128 array from unscaled int64 values (|value| < 2^63)."""
    unscaled = np.asarray(unscaled, dtype=np.int64)
    words = np.empty((len(unscaled), 2), dtype="<i8")
    words[:, 0] = unscaled
    words[:, 1] = np.where(unscaled < 0, -1, 0)
    mask = None
    if valid is not None and not valid.all():
        mask = pa.py_buffer(np.packbits(valid, bitorder="little"))
    return pa.Array.from_buffers(
        target, len(unscaled), [mask, pa.py_buffer(words.tobytes())], null_count=-1
    )


def ordered_uuids(rows: np.ndarray, salt: int) -> np.ndarray:
    """(n, 16) UUIDs in the layout of version 7 (a 48-bit increasing prefix, then
    version and variant bits, then bits hashed from the row), increasing with the
    row so that key order is row order."""
    rows = np.asarray(rows, dtype=np.uint64)
    out = np.zeros((len(rows), 16), dtype=np.uint8)
    prefix = rows + np.uint64(1)
    for i in range(6):
        out[:, 5 - i] = ((prefix >> np.uint64(8 * i)) & np.uint64(0xFF)).astype(np.uint8)
    with np.errstate(over="ignore"):
        h = rows * np.uint64(0x9E3779B97F4A7C15) + np.uint64(salt & ((1 << 64) - 1))
        for i in range(10):
            h = (h ^ (h >> np.uint64(29))) * np.uint64(0xBF58476D1CE4E5B9)
            out[:, 6 + i] = (h >> np.uint64(32)).astype(np.uint8)
    out[:, 6] = (out[:, 6] & 0x0F) | 0x70  # version 7
    out[:, 8] = (out[:, 8] & 0x3F) | 0x80  # RFC 4122 variant
    return out


def group_sequence(groups: list[np.ndarray], base: int) -> np.ndarray:
    """Per row, its position among the rows with the same values in ``groups``
    (in row order), plus ``base``."""
    n = len(groups[0])
    rows = np.arange(n, dtype=np.int64)
    order = np.lexsort([rows, *reversed(groups)])
    sorted_keys = [g[order] for g in groups]
    new_group = np.ones(n, dtype=bool)
    if n:
        new_group[1:] = np.any([k[1:] != k[:-1] for k in sorted_keys], axis=0)
    starts = np.maximum.accumulate(np.where(new_group, np.arange(n), 0))
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n) - starts
    return rank + base


def duplicate_rows(links: list[np.ndarray]) -> np.ndarray:
    """Rows whose tuple of ``links`` appeared in an earlier row (NULL = -1 never
    collides)."""
    n = len(links[0])
    rows = np.arange(n, dtype=np.int64)
    order = np.lexsort([rows, *reversed(links)])
    same = np.ones(max(n - 1, 0), dtype=bool)
    for link in links:
        s = link[order]
        same &= s[1:] == s[:-1]
    valid = np.all([link[order] >= 0 for link in links], axis=0)
    dup = np.zeros(n, dtype=bool)
    if n > 1:
        dup[order[1:]] = same & valid[1:]
    return np.nonzero(dup)[0]


def make_distinct(
    links: list[np.ndarray],
    parent_rows: list[int],
    redraw: Callable[[np.ndarray, int], np.ndarray],
) -> None:
    """Make the tuples of ``links`` distinct in place by redrawing the last link of
    repeated rows (``redraw(rows, round)``), then moving any rows still repeated to
    the next unused parent row of their prefix."""
    for attempt in range(DISTINCT_ROUNDS):
        dup = duplicate_rows(links)
        if not len(dup):
            return
        links[-1][dup] = redraw(dup, attempt)
    dup = duplicate_rows(links)
    if not len(dup):
        return
    size = parent_rows[-1]
    prefixes = {tuple(int(link[r]) for link in links[:-1]) for r in dup}
    used: dict[tuple[int, ...], set[int]] = {p: set() for p in prefixes}
    is_dup = np.zeros(len(links[0]), dtype=bool)
    is_dup[dup] = True
    for r in np.nonzero(~is_dup)[0].tolist():
        prefix = tuple(int(link[r]) for link in links[:-1])
        if prefix in used:
            used[prefix].add(int(links[-1][r]))
    for r in dup.tolist():
        prefix = tuple(int(link[r]) for link in links[:-1])
        taken = used[prefix]
        start = int(links[-1][r])
        for k in range(size):
            candidate = (start + k) % size
            if candidate not in taken:
                links[-1][r] = candidate
                taken.add(candidate)
                break
        else:
            raise ValueError("no distinct parent left for a row (row count above capacity)")


def forest_links(drawn: np.ndarray, rows: np.ndarray, num_rows: int) -> np.ndarray:
    """Self-reference parents: a row drawn from the block model over the whole table
    is scaled into the rows before ``row`` (row 0 has none: -1)."""
    rows = np.asarray(rows, dtype=np.int64)
    scaled = (drawn.astype(np.int64) * rows) // max(num_rows, 1)
    return np.where(rows > 0, np.minimum(scaled, rows - 1), -1)
