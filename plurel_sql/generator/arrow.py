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


def numpy_array(values: np.ndarray) -> pa.Array:
    """A primitive Arrow array (integers, floats) sharing a numpy array's buffer."""
    data = np.ascontiguousarray(values)
    if data.dtype == np.bool_:
        return bool_array(data)
    kind = pa.from_numpy_dtype(data.dtype.newbyteorder("="))
    return pa.Array.from_buffers(kind, len(data), [None, pa.py_buffer(data)])


def bool_values(array: pa.Array) -> np.ndarray:
    """A boolean Arrow array without NULLs as a numpy array, unpacked from its bits
    (``to_numpy`` imports pandas)."""
    bits = np.frombuffer(array.buffers()[1], dtype=np.uint8)
    end = array.offset + len(array)
    return np.unpackbits(bits, count=end, bitorder="little")[array.offset :].astype(bool)


def buffer_values(array: pa.Array, dtype: str | np.dtype) -> np.ndarray:
    """The values buffer of a fixed-width Arrow array as numpy, zero-copy (``to_numpy``
    imports pandas); NULL slots hold whatever the buffer holds there."""
    data = array.buffers()[1]
    if data is None or len(array) == 0:
        return np.zeros(len(array), dtype=dtype)
    width = np.dtype(dtype).itemsize
    return np.frombuffer(data, dtype=dtype, count=len(array), offset=array.offset * width)


def float_values(array: pa.Array) -> np.ndarray:
    """The float64 values of a numeric Arrow array, NULL as 0 (no pandas)."""
    x = array.cast(pa.float64())
    data = buffer_values(x, np.float64)
    if x.null_count:
        data = np.where(bool_values(pc.is_valid(x)), data, 0.0)
    return data


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


def with_nulls(values: pa.Array, valid: np.ndarray | None) -> pa.Array:
    """``values`` with NULL where ``valid`` is False (None: unchanged); also for
    extension types such as arrow.uuid, which compute kernels do not take."""
    if valid is None or valid.all():
        return values
    # arrays, not Python values: pa.array / pa.scalar import pandas (~0.2 s)
    mask = bool_array(valid)
    if isinstance(values.type, pa.BaseExtensionType):
        storage = values.storage
        nulls = pa.nulls(len(storage), storage.type)
        return pa.ExtensionArray.from_storage(values.type, pc.if_else(mask, storage, nulls))
    return pc.if_else(mask, values, pa.nulls(len(values), values.type))
