"""What the kernel builds are compared on: every kernel on random inputs, every kernel
on special values, and whole databases; and a digest of all of it per build, which a
process running another compiler's build of the extension reports for comparison."""

from __future__ import annotations

import hashlib

import numpy as np
from generator_helpers import small_config, table_checksums

from plurel_sql.config import ACTIVATIONS, AGGREGATIONS, SCMParams, default_config
from plurel_sql.generator import _kernels
from plurel_sql.generator.activations import make_activation
from plurel_sql.generator.mlp import NumericEncoder, sample_mlps
from plurel_sql.generator.pool import RandomPool
from plurel_sql.generator.scm import Accumulator
from plurel_sql.generator.stream import DatabaseGenerator

_F32 = np.finfo(np.float32)
# zeros, subnormals, the edges of the polynomials' ranges and clamps (tanh at 0.625,
# mish at 20, exp at -87 and 88, the float sine reduction at 8192, the double one at
# 3e9), huge values, infinities and NaNs of both signs
SPECIAL_VALUES = np.array(
    [0.0, -0.0, _F32.tiny, -_F32.tiny, _F32.tiny / 2, -_F32.tiny / 2, 1e-45, -1e-45]
    + [0.5, -0.5, 0.625, -0.625, 1, -1, 3, -3, 6, -6, 20, 20.5, 87, 88, 89, -87, -88, -104]
    + [8191.9, 8192, 8192.001, -8192.001, 1e6, -1e6, 3e9, -3e9, 3.1e9, 1e30, -1e30]
    + [_F32.max, -_F32.max, np.inf, -np.inf, np.nan, -np.nan],
    dtype=np.float32,
)

# databases the builds must agree on: small ones, and one default-configuration one
DATABASES = (("small", 0), ("small", 1), ("default", 6))


def every_kernel_outputs(seed: int) -> list[np.ndarray]:
    """Outputs of every kernel on random inputs: every activation, MLPs of several
    shapes, every aggregation of encoded and looked-up terms, and Beta noise."""
    rng = np.random.default_rng(seed)
    pool = RandomPool(np.random.default_rng(seed + 1))
    outputs = []
    x = rng.normal(0, 3, 1003).astype(np.float32)
    for name in ACTIVATIONS:
        outputs.append(make_activation(name, pool)(x))
    mlps = sample_mlps(SCMParams(), [(1, 32), (32, 32), (32, 1), (7, 5)] * 8, pool)
    for mlp in mlps:
        in_dim = mlp.weights[0].shape[0]
        outputs.append(mlp(rng.normal(0, 2, (45, in_dim)).astype(np.float32)))
    encoders = [NumericEncoder(m) for m in mlps if m.weights[0].shape == (1, 32)]
    table = rng.normal(0, 2, (6, 32)).astype(np.float32)
    for mode in AGGREGATIONS:
        acc = Accumulator(mode)
        for enc in encoders:
            acc.add_encoded(enc, x[:37], np.float32(50.0))
        acc.add_rows(table, rng.integers(0, 6, 37))
        outputs.append(acc.result())
    outputs.append(make_activation("sin", pool)(rng.uniform(-1e6, 1e6, 99).astype(np.float32)))
    for width in (32, 5):  # lookups of vector and odd widths
        acc = Accumulator("logsumexp")
        acc.add_rows(rng.normal(0, 2, (4, width)).astype(np.float32), rng.integers(0, 4, 21))
        outputs.append(acc.result())
    chosen = np.empty(45, dtype=np.int64)
    _kernels.argmax_similarity(rng.normal(0, 1, (45, 32)).astype(np.float32), table, chosen)
    outputs.append(chosen)
    noise = np.empty((37, 32), dtype=np.float32)
    _kernels.beta_noise(noise, np.sort(rng.random(65, dtype=np.float32)), 1.7, 0.3, 99)
    outputs.append(noise)
    for knots in (2, 4):  # one and three intervals: every value in or next to a tail
        odd = np.empty(1001, dtype=np.float32)  # not a whole number of chunks
        _kernels.beta_noise(odd, np.sort(rng.random(knots, dtype=np.float32)), 0.6, 2.2, 7)
        outputs.append(odd)
    return outputs


def special_value_outputs() -> list[np.ndarray]:
    """Every activation, MLPs and every aggregation (with and without a bound) on
    SPECIAL_VALUES."""
    pool = RandomPool(np.random.default_rng(3))
    outputs = [make_activation(name, pool)(SPECIAL_VALUES) for name in ACTIVATIONS]
    for mlp in sample_mlps(SCMParams(), [(1, 32), (32, 32), (32, 1), (7, 5)] * 2, pool):
        in_dim = mlp.weights[0].shape[0]
        outputs.append(mlp(np.resize(SPECIAL_VALUES, (len(SPECIAL_VALUES), in_dim))))
    for mode in AGGREGATIONS:
        acc = Accumulator(mode)
        for k in range(5):
            acc.add(np.roll(SPECIAL_VALUES, k), bound=np.inf if k % 2 else 1e30)
        outputs.append(acc.result())
    return outputs


def same_values(a: np.ndarray, b: np.ndarray) -> bool:
    """Bit for bit equal, except that a NaN equals any NaN (IEEE leaves a NaN's sign
    and payload to the hardware and to the compiler's operand order)."""
    if a.dtype != np.float32:
        return a.tobytes() == b.tobytes()
    nan = np.isnan(a)
    return bool((nan == np.isnan(b)).all()) and a[~nan].tobytes() == b[~nan].tobytes()


def database_checksums(config: str, seed: int) -> dict[str, str]:
    """Per-table checksums of one generated database (``config``: small or default)."""
    chosen = small_config() if config == "small" else default_config()
    return table_checksums(DatabaseGenerator(chosen, seed))


def _digest(outputs: list[np.ndarray]) -> str:
    """A digest of outputs, with every NaN written as the same NaN (see same_values)."""
    h = hashlib.sha256()
    for out in outputs:
        if out.dtype == np.float32:
            out = np.where(np.isnan(out), np.float32(np.nan), out)
        h.update(out.tobytes())
    return h.hexdigest()


def build_digests() -> dict[str, dict]:
    """For every build this process can run: digests of every_kernel_outputs and
    special_value_outputs, and the checksums of DATABASES."""
    builds = sorted({_kernels.BASELINE, _kernels.DEFAULT})
    out = {}
    previous = _kernels.use_kernels(_kernels.DEFAULT)
    try:
        for build in builds:
            _kernels.use_kernels(build)
            out[build] = {
                "kernels": _digest(every_kernel_outputs(12)),
                "special values": _digest(special_value_outputs()),
                "databases": {f"{c} {s}": database_checksums(c, s) for c, s in DATABASES},
            }
    finally:
        _kernels.use_kernels(previous)
    return out
