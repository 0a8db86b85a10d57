"""Per-table content checksums, identical on every engine and on the Arrow stream.

Definition (also in docs/materialize.md, "Checksums"). Every column is encoded by
its type as a stream of little-endian records ``(valid: uint8, value)``; ``valid``
is 1 for a value and 0 for NULL (value bytes are then zero):

- integers of any width: int64; NUMERIC: the text of the value at the column's
  scale (``12.50``), as a text record;
- REAL / DOUBLE: float64, with ``-0.0`` written as ``0.0`` and NaN as NULL;
- BOOLEAN: uint8 (0 or 1);
- categorical columns (a CHECK IN list or an ENUM): int32 index of the label in
  the column's ``labels`` (``-2`` for a value outside them);
- TIMESTAMP [WITH TIME ZONE]: int64 microseconds since 1970-01-01 (UTC); DATE:
  int32 days since 1970-01-01; TIME: int64 microseconds since midnight;
- text: uint32 byte length then the UTF-8 bytes (CHAR(n) without trailing spaces,
  which PostgreSQL pads); UUID: its 16 bytes.

**Ordered tables** (a one-column integer primary key, which every random schema
table has): rows are taken in key order, each column stream is hashed with SHA-256,
and the table checksum is the SHA-256 hex of ``b"plurel-checksum-v1\\0"`` followed,
per column in IR order, by the column name in UTF-8, a NUL byte and the column
digest. **Other tables** (composite, non-integer or no primary key), whose engine
order cannot be reproduced while streaming: every record is hashed per row to 64
bits (SplitMix64 finalizer over the record's words), a row's hash mixes its
columns' hashes, and the checksum is the SHA-256 hex of
``b"plurel-checksum-rows-v1\\0"``, the column names, the row count and two
64-bit sums of row hashes: a multiset hash, independent of row order.

Records are self-delimiting per row, so neither definition depends on how rows are
split into batches, and because they are computed from values (not from an
engine's text rendering) DuckDB, PostgreSQL and SQLite give the same digest.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from plurel_sql.generator.arrow import bool_values, buffer_values, string_dictionary
from plurel_sql.schema.ir import Column, Table
from plurel_sql.uuids import uuid_bytes

PREFIX = b"plurel-checksum-v1\x00"
ROWS_PREFIX = b"plurel-checksum-rows-v1\x00"
_NULL_HASH = np.uint64(0x6A09E667F3BCC908)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def column_role(column: Column) -> str:
    """How a column is encoded (see the module docstring)."""
    t = column.type
    if column.labels is not None:
        return "categorical"
    if t.is_integer:
        return "key"
    if t.name in ("real", "double"):
        return "numeric"
    if t.name in ("timestamp", "timestamptz"):
        return "time"
    if t.name in ("boolean", "date", "uuid", "char"):
        return t.name
    return {"numeric": "decimal", "time": "clock"}.get(t.name, "text")


def _records(valid: np.ndarray, values: np.ndarray) -> bytes:
    rec = np.zeros(len(values), dtype=[("valid", "u1"), ("value", values.dtype, values.shape[1:])])
    rec["valid"] = valid
    zero = np.zeros(values.shape[1:], dtype=values.dtype)
    rec["value"] = np.where(valid.reshape(-1, *([1] * (values.ndim - 1))), values, zero)
    return rec.tobytes()


# Values are read from Arrow buffers, not through fill_null(python value) or
# to_numpy(zero_copy_only=False): those convert Python values, and pyarrow imports
# pandas (~0.35 s a process) on the first such conversion.


def _valid_mask(col: pa.Array) -> np.ndarray:
    if col.null_count == 0:
        return np.ones(len(col), dtype=bool)
    return bool_values(pc.is_valid(col))


def _label_codes(col: pa.Array, labels: list[str] | None) -> tuple[np.ndarray, np.ndarray]:
    """(valid, int32 index of each value in ``labels``, -2 outside them or NULL)."""
    index = pc.index_in(col.cast(pa.string()), value_set=string_dictionary(labels or []))
    codes = np.where(_valid_mask(index), buffer_values(index, "<i4"), np.int32(-2)).astype("<i4")
    return _valid_mask(col), codes


def _text_parts(col: pa.Array, role: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(valid, offsets (n+1,) int64, UTF-8 bytes) of a text-like column."""
    if role == "decimal":
        col = pc.cast(col, pa.string())
    elif role == "char":
        col = pc.utf8_rtrim(col.cast(pa.string()), characters=" ")
    col = col.cast(pa.large_string())
    valid = _valid_mask(col)
    if not valid.all():  # a NULL slot may still span bytes: no bytes for NULL
        col = pc.if_else(pc.is_valid(col), col, string_dictionary([""]).cast(col.type)[0])
    _, offsets, data = col.buffers()
    offsets = np.frombuffer(offsets, dtype=np.int64, count=len(col) + 1, offset=col.offset * 8)
    data = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
    return valid, offsets - offsets[0], data[offsets[0] : offsets[-1]]


def _fixed_values(col: pa.Array, role: str) -> tuple[np.ndarray, np.ndarray]:
    """(valid, values) of a fixed-width column in its record dtype."""
    valid = _valid_mask(col)
    if role in ("key", "time", "clock"):
        if role == "time":
            col = col.cast(pa.timestamp("us", tz=col.type.tz)).cast(pa.int64())
        elif role == "clock":
            col = col.cast(pa.time64("us")).cast(pa.int64())
        values = buffer_values(col.cast(pa.int64()), "<i8")
    elif role == "date":
        values = buffer_values(col.cast(pa.date32()).cast(pa.int32()), "<i4")
    elif role == "numeric":
        floats = buffer_values(col.cast(pa.float64()), "<f8")
        valid = valid & ~np.isnan(floats)
        values = np.where(floats == 0.0, 0.0, floats).astype("<f8")  # -0.0 -> 0.0
    elif role == "boolean":
        values = bool_values(col.cast(pa.bool_())).astype("u1")
    elif role == "uuid":
        values = uuid_bytes(col)
    else:
        raise ValueError(f"unknown column role {role!r}")
    return valid, values


def encode_column(col: pa.Array, role: str, labels: list[str] | None = None) -> bytes:
    """The checksum records of one column chunk (ordered definition)."""
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    if role == "categorical":
        return _records(*_label_codes(col, labels))
    if role in ("text", "char", "decimal"):
        valid, offsets, data = _text_parts(col, role)
        lengths = np.diff(offsets)  # NULLs were filled with "": no bytes
        head = np.zeros(len(col), dtype=[("valid", "u1"), ("length", "<u4")])
        head["valid"], head["length"] = valid, lengths
        sizes = 5 + lengths
        starts = np.cumsum(sizes) - sizes
        out = np.empty(int(sizes.sum()), dtype=np.uint8)
        out[(starts[:, None] + np.arange(5)).ravel()] = head.view(np.uint8)
        out[np.repeat(starts + 5 - offsets[:-1], lengths) + np.arange(len(data))] = data
        return out.tobytes()
    valid, values = _fixed_values(col, role)
    return _records(valid, values)


def _mix(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finalizer, elementwise on uint64 (wrapping arithmetic)."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def row_hashes(col: pa.Array, role: str, labels: list[str] | None = None) -> np.ndarray:
    """64-bit hash of each row's record of one column (rows definition)."""
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    with np.errstate(over="ignore"):
        if role in ("text", "char", "decimal"):
            valid, offsets, data = _text_parts(col, role)
            position = np.arange(len(data), dtype=np.uint64) - np.repeat(
                offsets[:-1].astype(np.uint64), np.diff(offsets)
            )
            terms = _mix(data.astype(np.uint64) | (position << np.uint64(8)))
            sums = np.concatenate(([np.uint64(0)], np.cumsum(terms, dtype=np.uint64)))
            h = sums[offsets[1:]] - sums[offsets[:-1]]
            h = _mix(h ^ (np.diff(offsets).astype(np.uint64) * _GOLDEN))
        else:
            if role == "categorical":
                valid, codes = _label_codes(col, labels)
                words = codes.astype(np.int64).view(np.uint64).reshape(-1, 1)
            else:
                valid, values = _fixed_values(col, role)
                words = _as_words(values)
            h = np.zeros(len(col), dtype=np.uint64)
            for j in range(words.shape[1]):
                h = _mix(h ^ words[:, j] ^ (np.uint64(j + 1) * _GOLDEN))
        return np.where(valid, h, _NULL_HASH)


def _as_words(values: np.ndarray) -> np.ndarray:
    """(n, k) uint64 words of fixed-width values (zero-extended)."""
    n = len(values)
    raw = np.ascontiguousarray(values).view(np.uint8).reshape(n, -1)
    width = -(-raw.shape[1] // 8) * 8
    padded = np.zeros((n, width), dtype=np.uint8)
    padded[:, : raw.shape[1]] = raw
    return padded.view("<u8")


def column_roles(table: Table) -> list[tuple[str, str, list[str] | None]]:
    """(name, role, labels) per stored column, in IR order."""
    return [(c.name, column_role(c), c.labels) for c in table.columns]


def ordered(table: Table) -> bool:
    """Whether the table's checksum takes rows in key order (see module docstring)."""
    return len(table.primary_key) == 1 and table.column(table.primary_key[0]).type.is_integer


class TableChecksum:
    """Streaming checksum of one table: feed batches (in key order for ordered
    tables, in any order otherwise)."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self.roles = column_roles(table)
        self.ordered = ordered(table)
        self.hashers = [hashlib.sha256() for _ in self.roles]
        self.sums = np.zeros(2, dtype=np.uint64)
        self.rows = 0

    def update(self, batch: pa.RecordBatch) -> None:
        if self.ordered:
            for (name, role, labels), hasher in zip(self.roles, self.hashers, strict=True):
                hasher.update(encode_column(batch.column(name), role, labels))
        elif batch.num_rows:
            row = np.zeros(batch.num_rows, dtype=np.uint64)
            with np.errstate(over="ignore"):
                for j, (name, role, labels) in enumerate(self.roles):
                    h = row_hashes(batch.column(name), role, labels)
                    row = _mix(row + h * (np.uint64(2 * j + 1) * _GOLDEN))
                self.sums[0] += np.sum(row, dtype=np.uint64)
                self.sums[1] += np.sum(_mix(row ^ _NULL_HASH), dtype=np.uint64)
        self.rows += batch.num_rows

    def hexdigest(self) -> str:
        if not self.ordered:
            final = hashlib.sha256(ROWS_PREFIX)
            for name, _role, _labels in self.roles:
                final.update(name.encode("utf-8") + b"\x00")
            final.update(int(self.rows).to_bytes(8, "little") + self.sums.astype("<u8").tobytes())
            return final.hexdigest()
        final = hashlib.sha256(PREFIX)
        for (name, _role, _labels), hasher in zip(self.roles, self.hashers, strict=True):
            final.update(name.encode("utf-8") + b"\x00" + hasher.digest())
        return final.hexdigest()
