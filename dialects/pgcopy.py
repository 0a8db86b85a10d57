"""Encode an Arrow batch as a PostgreSQL binary COPY stream with numpy (no Python loop
over rows).

Format (PostgreSQL docs, "COPY ... Binary Format"): an 11-byte signature, int32
flags, int32 header-extension length; per row an int16 field count and per field an
int32 byte length (-1 for NULL) followed by the value in network byte order; an
int16 -1 trailer. Supported Arrow types: int64 (int8), float64 (float8), bool,
string (text), timestamp[us] (int64 microseconds since 2000-01-01).

Method: every field gets a fixed slot of its maximum width in a padded
``(rows, max_row_bytes)`` matrix, filled column by column with strided copies; a
boolean matrix marks the bytes a row really uses (NULL payloads and the unused tail
of shorter strings are unmarked), and one boolean compaction yields the stream in
row order.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from plurel_sql.uuids import uuid_bytes

HEADER = b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
TRAILER = (-1).to_bytes(2, "big", signed=True)
PG_EPOCH_US = 946_684_800_000_000  # 2000-01-01 in Unix microseconds
PG_EPOCH_DAYS = 10_957  # 2000-01-01 in days since 1970-01-01


def _valid(col: pa.Array) -> np.ndarray:
    if col.null_count == 0:
        return np.ones(len(col), dtype=bool)
    return np.asarray(col.is_valid().to_numpy(zero_copy_only=False), dtype=bool)


#: PostgreSQL's integer width for each Arrow integer type: types PostgreSQL lacks
#: (TINYINT, UNSIGNED) are stored in the next signed width that holds them.
_INT_FORMATS = {
    pa.int8(): ">i2",
    pa.uint8(): ">i2",
    pa.int16(): ">i2",
    pa.uint16(): ">i4",
    pa.int32(): ">i4",
    pa.uint32(): ">i8",
    pa.int64(): ">i8",
    pa.uint64(): ">i8",
}


def _fixed(col: pa.Array) -> tuple[np.ndarray, str | None]:
    """Native-endian values of a fixed-width column (nulls zero-filled) and the
    big-endian numpy format PostgreSQL expects (the copy into the record swaps);
    ``None`` when the values are already the field's bytes (a void dtype)."""
    t = col.type
    if isinstance(t, pa.BaseExtensionType) and t.extension_name == "arrow.uuid":
        return uuid_bytes(col).view("V16")[:, 0], None
    if pa.types.is_timestamp(t):
        values = col.cast(pa.timestamp("us", tz=t.tz)).cast(pa.int64()).fill_null(0).to_numpy()
        return values - PG_EPOCH_US, ">i8"
    if pa.types.is_date32(t):
        return col.cast(pa.int32()).fill_null(0).to_numpy() - PG_EPOCH_DAYS, ">i4"
    if pa.types.is_time64(t):
        return col.cast(pa.time64("us")).cast(pa.int64()).fill_null(0).to_numpy(), ">i8"
    if pa.types.is_decimal(t):
        return numeric_fields(col), None
    if pa.types.is_integer(t):
        return col.cast(pa.int64()).fill_null(0).to_numpy(), _INT_FORMATS[t]
    if pa.types.is_float32(t):
        return col.fill_null(0.0).to_numpy(zero_copy_only=False), ">f4"
    if pa.types.is_floating(t):
        return col.cast(pa.float64()).fill_null(0.0).to_numpy(), ">f8"
    if pa.types.is_boolean(t):
        return col.fill_null(False).to_numpy(zero_copy_only=False).view(np.uint8), "u1"
    raise TypeError(f"unsupported Arrow type for binary COPY: {t}")


def _unscaled(col: pa.Array) -> list[int] | np.ndarray:
    """The unscaled integers of a decimal128 column (NULL -> 0): int64 while the
    precision allows, Python ints beyond."""
    col = col.fill_null(0)
    words = np.frombuffer(col.buffers()[1], dtype="<i8")[
        2 * col.offset : 2 * (col.offset + len(col))
    ]
    if col.type.precision <= 18:
        return words[0::2].copy()
    low, high = words[0::2].view("<u8"), words[1::2]
    return [int(h) << 64 | int(lo) for lo, h in zip(low.tolist(), high.tolist(), strict=True)]


def numeric_fields(col: pa.Array) -> np.ndarray:
    """PostgreSQL's binary NUMERIC (int16 ndigits, weight, sign, dscale, then
    base-10000 digits) of a decimal128(p, s) column, at one fixed width per column:
    every value carries ceil((p + pad) / 4) digit groups, the fractional ones
    aligned on a group boundary (PostgreSQL strips the extra zero groups)."""
    precision, scale = col.type.precision, col.type.scale
    pad = (4 - scale % 4) % 4
    groups = -(-(precision + pad) // 4)
    unscaled = _unscaled(col)
    if isinstance(unscaled, np.ndarray) and precision + pad <= 18:
        magnitude = np.abs(unscaled) * 10**pad
        digits = np.stack(
            [(magnitude // 10 ** (4 * (groups - 1 - k))) % 10000 for k in range(groups)], axis=1
        )
        negative = unscaled < 0
    else:
        values = [int(v) for v in unscaled]
        digits = np.array(
            [
                [(abs(v) * 10**pad // 10 ** (4 * (groups - 1 - k))) % 10000 for k in range(groups)]
                for v in values
            ],
            dtype=np.int64,
        ).reshape(len(values), groups)
        negative = np.array([v < 0 for v in values], dtype=bool)
    n = len(col)
    header = np.empty((n, 4), dtype=">i2")
    header[:, 0] = groups
    header[:, 1] = groups - (scale + pad) // 4 - 1
    header[:, 2] = np.where(negative, 0x4000, 0)
    header[:, 3] = scale
    body = np.concatenate([header.view(np.uint8), digits.astype(">i2").view(np.uint8)], axis=1)
    return np.ascontiguousarray(body).view(f"V{body.shape[1]}")[:, 0]


def _text(col: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(per-row byte length, (n, max_len) padded UTF-8 bytes) of a string column, via
    its dictionary (categorical columns have few distinct values)."""
    encoded = pc.dictionary_encode(col.cast(pa.string()))
    labels = [s.encode("utf-8") for s in encoded.dictionary.to_pylist()] or [b""]
    width = max(1, max(len(b) for b in labels))
    table = np.zeros((len(labels), width), dtype=np.uint8)
    for k, label in enumerate(labels):
        table[k, : len(label)] = np.frombuffer(label, dtype=np.uint8)
    label_len = np.array([len(b) for b in labels], dtype=np.int32)
    codes = encoded.indices.fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
    return label_len[codes], table[codes]


def encode_batch(batch: pa.RecordBatch) -> bytes:
    """The complete binary COPY stream (header, rows, trailer) for ``batch``."""
    n = batch.num_rows
    columns = []  # (valid or None when no NULLs, lengths or None when fixed, values, format)
    for col in batch.columns:
        valid = _valid(col) if col.null_count else None
        if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            lengths, padded = _text(col)
            columns.append((valid, lengths, padded.view(f"V{padded.shape[1]}")[:, 0], None))
        else:
            values, fmt = _fixed(col)
            columns.append((valid, None, values, fmt))
    # One padded record per row: int16 count, then per field int32 length + value slot.
    names, formats = ["count"], [">i2"]
    for j, (_valid_j, _lengths, values, fmt) in enumerate(columns):
        names += [f"l{j}", f"v{j}"]
        formats += [">i4", fmt or values.dtype.str]
    record = np.dtype({"names": names, "formats": formats})  # packed, no alignment
    body = np.empty(n, dtype=record)
    body["count"] = len(columns)
    used = None  # bytes of the padded record a row really uses (None: all of them)
    for j, (valid, lengths, values, _fmt) in enumerate(columns):
        width = record.fields[f"v{j}"][0].itemsize
        body[f"v{j}"] = values
        if lengths is None and valid is None:
            body[f"l{j}"] = width
            continue
        full = np.full(n, width, dtype=np.int32) if lengths is None else lengths
        body[f"l{j}"] = full if valid is None else np.where(valid, full, np.int32(-1))
        short = full < width if valid is None else (~valid | (full < width))
        if short.any():
            if used is None:
                used = np.ones((n, record.itemsize), dtype=bool)
            start = record.fields[f"v{j}"][1]
            stored = full if valid is None else np.where(valid, full, 0)
            for size in np.unique(stored[short]):
                rows = np.nonzero(short & (stored == size))[0]
                used[rows, start + int(size) : start + width] = False
    raw = body.view(np.uint8).reshape(n, record.itemsize)
    data = raw.tobytes() if used is None else raw[used].tobytes()
    return HEADER + data + TRAILER
