"""Recordings of kernel calls, replayed by a standalone C harness (replay.c) on other
builds, compilers and architectures.

While a :class:`KernelRecorder` is active, every call the generator makes into
``plurel_sql.generator._kernels`` (the kernels of the ``KernelTable``: activations,
MLPs, folds, Beta noise, weight banks, category argmax) is recorded with its inputs
and with the contents of its writable buffers before and after the call. ``replay``
runs each call again in the harness, compiled for any target, and compares every
output bit for bit. Replaying a whole database's calls this way checks, call by
call, that a build computes what the recording build computed; the Python and numpy
code around the calls is the same on every machine.

File format (little-endian): b"PLKR", u32 version, u32 array count, u32 record count;
then each array: u8 kind (b"f" float32, b"i" int32, b"q" int64), 7 bytes of padding,
u64 item count, the items, zero padding to a multiple of 8 bytes; then each record:
u32 kernel code (KERNELS), u32 argument count, u32 array index per argument. Equal
arrays are stored once. A kernel's arguments are its read-only inputs in the order
of ``INPUTS``, then a (before, after) pair per writable buffer in ``OUTPUTS``.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

import numpy as np

from plurel_sql.generator import _kernels

# kernel name -> read-only inputs, writable buffers (replay.c reads them in this order)
KERNELS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "activate": (("code", "params"), ("x",)),
    "mlp_forward": (("x", "weights", "meta", "params", "clamp"), ("out",)),
    "encode_fold": (
        ("x", "weights", "meta", "params", "clamp", "bound", "mode", "first"),
        ("acc", "aux"),
    ),
    "gather_fold": (("table", "width", "index", "bound", "mode", "first"), ("acc", "aux")),
    "term_fold": (("term", "bound", "mode", "first"), ("acc", "aux")),
    "fold_result": (("mode",), ("acc", "aux")),
    "beta_noise": (("icdf", "inv_a", "inv_b", "seed"), ("out",)),
    "fill_bank": (("offsets", "shapes", "inits", "densities", "factors", "seed"), ("bank",)),
    "argmax_similarity": (("emb", "d", "table"), ("out",)),
}
_NAMES = list(KERNELS)
_CODES = {name: code for code, name in enumerate(_NAMES)}
_KINDS = {np.dtype(np.float32): b"f", np.dtype(np.int32): b"i", np.dtype(np.int64): b"q"}


def _f(value: float) -> np.ndarray:
    return np.array([value], dtype=np.float32)


def _i(value: int) -> np.ndarray:
    return np.array([value], dtype=np.int32)


def _q(value: int) -> np.ndarray:
    # seeds are unsigned 64-bit: stored as their two's-complement int64 bits
    return np.array([value], dtype=np.uint64).view(np.int64)


def _compact_mlp(weights: np.ndarray, meta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The MLP's own matrices, cut from the (shared, large) bank, and its meta with
    the matrix offsets pointing into them: the kernel reads the same numbers."""
    layers = int(meta[0])
    dims = meta[1 : layers + 2].astype(np.int64)
    starts = meta[3 * layers :].astype(np.int64)
    sizes = dims[:-1] * dims[1:]
    own = np.concatenate([weights[s : s + n] for s, n in zip(starts, sizes, strict=True)])
    compact = meta.copy()
    compact[3 * layers :] = np.cumsum(sizes) - sizes
    return own, compact


class KernelRecorder:
    """Context manager: records every kernel call made through ``_kernels`` meanwhile."""

    def __init__(self) -> None:
        self.arrays: list[np.ndarray] = []
        self._index: dict[bytes, int] = {}
        self.records: list[tuple[int, list[int]]] = []
        self._saved: dict[str, Callable] = {}

    def _array(self, a: np.ndarray) -> int:
        a = np.ascontiguousarray(a).reshape(-1)
        key = _KINDS[a.dtype] + hashlib.blake2b(a.tobytes(), digest_size=16).digest()
        if key not in self._index:
            self._index[key] = len(self.arrays)
            self.arrays.append(a.copy())
        return self._index[key]

    def _call(self, name: str, args: tuple, inputs: list, outputs: list) -> object:
        """Run kernel ``name`` on ``args``, recording the read-only ``inputs`` and the
        writable ``outputs`` before and after the call."""
        recorded = [self._array(i) for i in inputs]
        before = [self._array(o) for o in outputs]
        result = self._saved[name](*args)
        for b, o in zip(before, outputs, strict=True):
            recorded += [b, self._array(o)]
        self.records.append((_CODES[name], recorded))
        return result

    # one wrapper per kernel, with the _kernels signature
    def activate(self, code, x, params):
        return self._call("activate", (code, x, params), [_i(code), params], [x])

    def mlp_forward(self, x, out, weights, meta, params, clamp):
        own, compact = _compact_mlp(weights, meta)
        args = (x, out, weights, meta, params, clamp)
        return self._call("mlp_forward", args, [x, own, compact, params, _f(clamp)], [out])

    def encode_fold(self, x, weights, meta, params, clamp, bound, mode, first, acc, aux):
        own, compact = _compact_mlp(weights, meta)
        args = (x, weights, meta, params, clamp, bound, mode, first, acc, aux)
        inputs = [x, own, compact, params, _f(clamp), _f(bound), _i(mode), _i(first)]
        return self._call("encode_fold", args, inputs, [acc, self._aux(acc, aux)])

    def gather_fold(self, table, index, bound, mode, first, acc, aux):
        args = (table, index, bound, mode, first, acc, aux)
        inputs = [table, _i(table.shape[1]), index, _f(bound), _i(mode), _i(first)]
        return self._call("gather_fold", args, inputs, [acc, self._aux(acc, aux)])

    def term_fold(self, term, bound, mode, first, acc, aux):
        args = (term, bound, mode, first, acc, aux)
        inputs = [term, _f(bound), _i(mode), _i(first)]
        return self._call("term_fold", args, inputs, [acc, self._aux(acc, aux)])

    def fold_result(self, mode, acc, aux):
        outputs = [acc, self._aux(acc, aux)]
        return self._call("fold_result", (mode, acc, aux), [_i(mode)], outputs)

    def beta_noise(self, out, icdf, inv_a, inv_b, seed):
        args = (out, icdf, inv_a, inv_b, seed)
        return self._call("beta_noise", args, [icdf, _f(inv_a), _f(inv_b), _q(seed)], [out])

    def fill_bank(self, bank, offsets, shapes, inits, densities, factors, seed):
        args = (bank, offsets, shapes, inits, densities, factors, seed)
        inputs = [offsets, shapes, inits, densities, factors, _q(seed)]
        return self._call("fill_bank", args, inputs, [bank])

    def argmax_similarity(self, emb, table, out):
        args = (emb, table, out)
        return self._call("argmax_similarity", args, [emb, _i(emb.shape[1]), table], [out])

    @staticmethod
    def _aux(acc: np.ndarray, aux: np.ndarray) -> np.ndarray:
        """aux, or an empty array when it is acc itself (modes other than logsumexp,
        which never touch it): the harness then has nothing to compare there."""
        return np.empty(0, np.float32) if np.shares_memory(acc, aux) else aux

    def __enter__(self) -> KernelRecorder:
        for name in KERNELS:
            self._saved[name] = getattr(_kernels, name)
            setattr(_kernels, name, getattr(self, name))
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        for name, kernel in self._saved.items():
            setattr(_kernels, name, kernel)

    def write(self, path: Path) -> None:
        """Write the recording (see the module docstring for the format)."""
        with open(path, "wb") as f:
            f.write(b"PLKR" + struct.pack("<III", 1, len(self.arrays), len(self.records)))
            for a in self.arrays:
                data = a.astype(a.dtype.newbyteorder("<")).tobytes()
                f.write(_KINDS[a.dtype] + bytes(7) + struct.pack("<Q", a.size) + data)
                f.write(bytes(-len(data) % 8))
            for code, args in self.records:
                f.write(struct.pack(f"<II{len(args)}I", code, len(args), *args))

    def kernel(self, record: int) -> str:
        """The kernel of record number ``record``."""
        return _NAMES[self.records[record][0]]

    def calls(self) -> dict[str, int]:
        """How many calls of each kernel were recorded."""
        counts = dict.fromkeys(_NAMES, 0)
        for code, _ in self.records:
            counts[_NAMES[code]] += 1
        return counts
