"""Activation functions of the SCM's random MLPs (compiled, float32).

The functions themselves live in the compiled kernels (``_kernels.c``), where the
MLPs run; this module names them and freezes their parameters.
``make_activation(name, pool)`` returns a frozen :class:`Activation`; only
``random_sines`` draws parameters (3-7 sines with N(0,1) amplitudes, log-uniform
frequencies in [0.1, 10] and U[0, 2 pi] phases), once, at construction.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from plurel_sql.generator import _kernels
from plurel_sql.generator.pool import RandomPool

ACTIVATION_NAMES: tuple[str, ...] = _kernels.ACTIVATIONS  # index = kernel code
ACTIVATION_CODES = {name: code for code, name in enumerate(ACTIVATION_NAMES)}
NO_PARAMS = np.zeros(1, dtype=np.float32)
NO_PARAMS.flags.writeable = False


@dataclass(frozen=True, eq=False)
class Activation:
    """One activation: its kernel code and parameters (random_sines: ``[count,
    (amplitude, frequency, phase) x count]``; others: unused)."""

    name: str
    params: np.ndarray = field(default_factory=lambda: NO_PARAMS)

    @property
    def code(self) -> int:
        return ACTIVATION_CODES[self.name]

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """The activation of a float32 array (a new array)."""
        out = np.array(x, dtype=np.float32, order="C", copy=True)
        _kernels.activate(self.code, out, self.params)
        return out


def random_sines_params(pool: RandomPool, layers: int) -> list[np.ndarray]:
    """The parameters of ``layers`` random_sines activations, drawn together (an SCM
    has hundreds): per layer [count, (amplitude, frequency, phase) x count], float32,
    with 3-7 sines, N(0, 1) amplitudes, log-uniform frequencies in [0.1, 10] and
    U[0, 2 pi] phases."""
    counts = 3 + np.minimum((pool.uniform(layers) * 5).astype(np.int64), 4)
    total = int(counts.sum())
    amplitude = pool.normal(total)
    log_lo, log_hi = np.log(0.1), np.log(10.0)
    frequency = np.exp(log_lo + (log_hi - log_lo) * pool.uniform(total))
    phase = 2 * np.pi * pool.uniform(total)
    triples = np.stack([amplitude, frequency, phase], axis=1).astype(np.float32)
    ends = np.cumsum(counts)
    return [
        np.concatenate([[np.float32(count)], triples[end - count : end].ravel()])
        for count, end in zip(counts.tolist(), ends.tolist(), strict=True)
    ]


_FIXED = {name: Activation(name) for name in ACTIVATION_NAMES if name != "random_sines"}


def make_activation(name: str, pool: RandomPool | None) -> Activation:
    """The activation called ``name`` (see ``config.ACTIVATIONS``); ``pool`` draws
    random_sines' parameters (the others take none)."""
    if name == "random_sines":
        if pool is None:
            raise ValueError("random_sines draws its parameters: pass a RandomPool")
        return Activation(name, random_sines_params(pool, 1)[0])
    if name not in _FIXED:
        raise ValueError(f"unknown activation {name}")
    return _FIXED[name]
