"""Per-table content checksums, identical on every engine and on the Arrow stream.

Definition (also in docs/materialize.md, "Checksums"): rows are taken in primary-key
order; each column becomes a stream of fixed-width little-endian records
``(valid: uint8, value)`` where ``valid`` is 1 for a value and 0 for NULL (value
bytes are then zero) and ``value`` is

- primary/foreign keys: int64;
- numeric features: float64, with ``-0.0`` written as ``0.0`` and NaN as NULL;
- boolean features: uint8 (0 or 1);
- categorical features: int32 index of the label in the column's ``labels``
  (``-2`` for a value outside them);
- the time column: int64 microseconds since 1970-01-01 (naive timestamp).

Each column stream is hashed with SHA-256; the table checksum is the SHA-256 hex of
``b"plurel-checksum-v1\\0"`` followed, per column in IR order, by the column name in
UTF-8, a NUL byte and the column digest. Because records are fixed-width per row the
result does not depend on how rows are split into batches, and because it is
computed from values (not from an engine's text rendering) DuckDB, PostgreSQL and
SQLite give the same digest for the same contents.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from plurel_sql.schema.ir import Table

PREFIX = b"plurel-checksum-v1\x00"


def _records(valid: np.ndarray, values: np.ndarray) -> bytes:
    rec = np.zeros(len(values), dtype=[("valid", "u1"), ("value", values.dtype)])
    rec["valid"] = valid
    rec["value"] = np.where(valid, values, np.zeros(1, dtype=values.dtype))
    return rec.tobytes()


def _valid_mask(col: pa.Array) -> np.ndarray:
    if col.null_count == 0:
        return np.ones(len(col), dtype=bool)
    return np.asarray(col.is_valid().to_numpy(zero_copy_only=False), dtype=bool)


def encode_column(col: pa.Array, role: str, labels: list[str] | None = None) -> bytes:
    """The checksum records of one column chunk; ``role`` is key/numeric/boolean/
    categorical/time."""
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    if role in ("key", "time"):
        values = col.cast(pa.timestamp("us")) if role == "time" else col
        ints = values.cast(pa.int64()).fill_null(0).to_numpy().astype("<i8")
        return _records(_valid_mask(col), ints)
    if role == "numeric":
        floats = col.cast(pa.float64()).fill_null(0.0).to_numpy(zero_copy_only=False)
        valid = _valid_mask(col) & ~np.isnan(floats)
        floats = np.where(floats == 0.0, 0.0, floats).astype("<f8")  # -0.0 -> 0.0
        return _records(valid, floats)
    if role == "boolean":
        bools = col.cast(pa.bool_()).fill_null(False).to_numpy(zero_copy_only=False)
        return _records(_valid_mask(col), bools.astype("u1"))
    if role == "categorical":
        valid = _valid_mask(col)
        index = pc.index_in(col.cast(pa.string()), value_set=pa.array(labels or [], pa.string()))
        codes = index.fill_null(-2).to_numpy(zero_copy_only=False).astype("<i4")
        return _records(valid, codes)
    raise ValueError(f"unknown column role {role!r}")


def column_roles(table: Table) -> list[tuple[str, str, list[str] | None]]:
    """(name, role, labels) per stored column, in IR order."""
    roles: list[tuple[str, str, list[str] | None]] = [(table.primary_key, "key", None)]
    roles += [(fk.column, "key", None) for fk in table.foreign_keys]
    roles += [(c.name, c.kind, c.labels) for c in table.features]
    if table.time_column:
        roles.append((table.time_column, "time", None))
    return roles


class TableChecksum:
    """Streaming checksum of one table: feed batches in primary-key order."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self.roles = column_roles(table)
        self.hashers = [hashlib.sha256() for _ in self.roles]
        self.rows = 0

    def update(self, batch: pa.RecordBatch) -> None:
        for (name, role, labels), hasher in zip(self.roles, self.hashers, strict=True):
            hasher.update(encode_column(batch.column(name), role, labels))
        self.rows += batch.num_rows

    def hexdigest(self) -> str:
        final = hashlib.sha256(PREFIX)
        for (name, _role, _labels), hasher in zip(self.roles, self.hashers, strict=True):
            final.update(name.encode("utf-8") + b"\x00" + hasher.digest())
        return final.hexdigest()
