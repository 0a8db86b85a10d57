"""UUID columns as Arrow arrays, converted without a Python loop over rows.

In batches a UUID column is Arrow's ``arrow.uuid`` extension type (16 bytes per
value); engines hand UUIDs back as that type, as 36-character strings or as Python
``uuid.UUID`` objects. :func:`uuid_bytes` reads any of them as an ``(n, 16)``
uint8 matrix, :func:`uuid_array` builds the extension array and
:func:`uuid_strings` the canonical lowercase text.
"""

from __future__ import annotations

import uuid

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_DASHES = (8, 13, 18, 23)  # positions of "-" in the 36-character form
_NIL = "00000000-0000-0000-0000-000000000000"
_DIGITS = np.array([i for i in range(36) if i not in _DASHES])


def uuid_array(raw: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """An ``arrow.uuid`` array from an ``(n, 16)`` uint8 matrix (``valid``: False = NULL)."""
    raw = np.ascontiguousarray(raw, dtype=np.uint8)
    n = len(raw)
    mask = None
    if valid is not None and not valid.all():
        mask = pa.py_buffer(np.packbits(valid, bitorder="little"))
    storage = pa.Array.from_buffers(
        pa.binary(16), n, [mask, pa.py_buffer(raw.tobytes())], null_count=-1
    )
    return pa.ExtensionArray.from_storage(pa.uuid(), storage)


def uuid_bytes(col: pa.Array) -> np.ndarray:
    """``(n, 16)`` uint8 of a UUID column in any of the forms above (NULL -> zeros)."""
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    if isinstance(col.type, pa.BaseExtensionType):
        col = col.storage
    if pa.types.is_fixed_size_binary(col.type):
        filled = col.fill_null(b"\x00" * 16)
        return np.frombuffer(filled.buffers()[1], dtype=np.uint8)[
            filled.offset * 16 : (filled.offset + len(filled)) * 16
        ].reshape(-1, 16)
    if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
        col = pa.array([None if v is None else str(v) for v in col.to_pylist()], type=pa.string())
    text = pc.utf8_lower(col.fill_null(_NIL)).cast(pa.large_string())
    _, offsets, data = text.buffers()
    offsets = np.frombuffer(offsets, dtype=np.int64, count=len(text) + 1, offset=text.offset * 8)
    if len(text) and not (np.diff(offsets) == 36).all():
        raise ValueError("UUID text must have 36 characters")
    chars = np.frombuffer(data, dtype=np.uint8)[offsets[0] : offsets[-1]] if len(text) else b""
    chars = np.frombuffer(chars, dtype=np.uint8).reshape(-1, 36)[:, _DIGITS]
    nibbles = np.where(chars >= ord("a"), chars - ord("a") + 10, chars - ord("0"))
    return (nibbles[:, 0::2] << 4 | nibbles[:, 1::2]).astype(np.uint8)


def uuid_strings(raw: np.ndarray) -> list[str]:
    """Canonical text of an ``(n, 16)`` uint8 matrix."""
    return [str(uuid.UUID(bytes=bytes(row))) for row in raw]


def hex_matrix(raw: np.ndarray) -> np.ndarray:
    """``(n, 36)`` uint8 ASCII of the canonical text, vectorized."""
    n = len(raw)
    out = np.full((n, 36), ord("-"), dtype=np.uint8)
    out[:, _DIGITS[0::2]] = _HEX[raw >> 4]
    out[:, _DIGITS[1::2]] = _HEX[raw & 15]
    return out
