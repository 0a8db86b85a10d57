"""numpy -> Arrow arrays built from buffers (zero-copy where possible).

``pyarrow.array`` imports pandas on first use when it is installed (~0.5 s per
process) and inspects every input; the generator's columns are plain typed numpy
arrays, so building the arrays from their buffers is both cheaper and import-free.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def _validity(mask: np.ndarray | None) -> tuple[pa.Buffer | None, int]:
    """Arrow validity bitmap for ``mask`` (True = NULL) and the null count."""
    if mask is None or not mask.any():
        return None, 0
    return pa.py_buffer(np.packbits(~mask, bitorder="little")), int(mask.sum())


def int64_array(values: np.ndarray, type: pa.DataType | None = None) -> pa.Array:
    """int64 (or another 64-bit integer-backed type, e.g. timestamp[us]) array."""
    data = np.ascontiguousarray(values, dtype=np.int64)
    return pa.Array.from_buffers(type or pa.int64(), len(data), [None, pa.py_buffer(data)])


def float64_array(values: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
    data = np.ascontiguousarray(values, dtype=np.float64)
    validity, nulls = _validity(null)
    return pa.Array.from_buffers(
        pa.float64(), len(data), [validity, pa.py_buffer(data)], null_count=nulls
    )


def bool_array(values: np.ndarray) -> pa.Array:
    bits = np.packbits(np.asarray(values, dtype=bool), bitorder="little")
    return pa.Array.from_buffers(pa.bool_(), len(values), [None, pa.py_buffer(bits)])


def string_dictionary(labels: list[str]) -> pa.Array:
    """A string array of ``labels`` (built once per column)."""
    encoded = [label.encode("utf-8") for label in labels]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int32)
    offsets[1:] = np.cumsum([len(e) for e in encoded])
    return pa.Array.from_buffers(
        pa.string(), len(encoded), [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))]
    )


def string_array(dictionary: pa.Array, codes: np.ndarray) -> pa.Array:
    """``dictionary[codes]`` as a plain string array."""
    return pc.take(dictionary, int64_array(codes))
