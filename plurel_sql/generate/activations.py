"""Activation functions of the SCM's random MLPs (numpy, float32, vectorized).

``make_activation(name, pool)`` returns a frozen callable; only ``random_sines``
draws parameters (3-7 sines with N(0,1) amplitudes, log-uniform frequencies in
[0.1, 10] and U[0, 2 pi] phases), and it draws them once, at construction.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from plurel_sql.generate.pool import RandomPool

Activation = Callable[[np.ndarray], np.ndarray]

_SELU_ALPHA = 1.6732632423543772
_SELU_SCALE = 1.0507009873554805
_RRELU_SLOPE = (1.0 / 8.0 + 1.0 / 3.0) / 2.0  # torch's rrelu in evaluation mode


# numpy's float32 expm1/log1p are scalar loops (~20 ns per value) while exp/log are
# SIMD (~2 ns); the absolute error of exp(x) - 1 and log(1 + x) is below 1e-7, far
# under what matters for a random activation, so the fast forms are used throughout.


def _softplus(x: np.ndarray) -> np.ndarray:
    # log(1 + e^x) = max(x, 0) + log(1 + e^-|x|): stable for any x
    return np.maximum(x, 0) + np.log(1 + np.exp(-np.abs(x)))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    # 1 / (1 + e^-x) = (1 + tanh(x / 2)) / 2: stable for any x, faster than scipy's expit
    return np.float32(0.5) * (np.float32(1.0) + np.tanh(np.float32(0.5) * x))


def _erf(x: np.ndarray) -> np.ndarray:
    """erf in float32 by Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7, below float32
    resolution near 1); scipy's erf is ~10x slower on float32 arrays."""
    a = np.abs(x)
    t = np.float32(1.0) / (np.float32(1.0) + np.float32(0.3275911) * a)
    poly = t * (
        np.float32(0.254829592)
        + t
        * (
            np.float32(-0.284496736)
            + t
            * (
                np.float32(1.421413741)
                + t * (np.float32(-1.453152027) + t * np.float32(1.061405429))
            )
        )
    )
    return np.sign(x) * (np.float32(1.0) - poly * np.exp(-a * a))


def _elu(x: np.ndarray) -> np.ndarray:
    # x for x > 0, e^x - 1 otherwise (the two branches meet at 0)
    return np.maximum(x, 0) + (np.exp(np.minimum(x, 0)) - 1)


_FIXED: dict[str, Activation] = {
    "relu": lambda x: np.maximum(x, 0),
    "elu": _elu,
    "selu": lambda x: (
        np.float32(_SELU_SCALE)
        * (np.maximum(x, 0) + np.float32(_SELU_ALPHA) * (np.exp(np.minimum(x, 0)) - 1))
    ),
    "silu": lambda x: x * _sigmoid(x),
    "softsign": lambda x: x / (1 + np.abs(x)),
    "tanh": np.tanh,
    "sigmoid": _sigmoid,
    "hardswish": lambda x: x * np.clip(x + 3, 0, 6) / 6,
    "mish": lambda x: x * np.tanh(_softplus(x)),
    "leaky_relu": lambda x: np.maximum(x, np.float32(0.01) * x),
    "gelu": lambda x: 0.5 * x * (1 + _erf(x * np.float32(1.0 / np.sqrt(2.0)))),
    "softplus": _softplus,
    "hardsigmoid": lambda x: np.clip(x / 6 + 0.5, 0, 1),
    "hardtanh": lambda x: np.clip(x, -1, 1),
    "celu": _elu,  # alpha = 1
    "tanhshrink": lambda x: x - np.tanh(x),
    "rrelu": lambda x: np.maximum(x, np.float32(_RRELU_SLOPE) * x),
    "logsigmoid": lambda x: -_softplus(-x),
    "softshrink": lambda x: np.sign(x) * np.maximum(np.abs(x) - 0.5, 0),
    "hardshrink": lambda x: x * (np.abs(x) > 0.5),
    "identity": lambda x: x,
    "abs": np.abs,
    "sin": np.sin,
    "cos": np.cos,
    "sign": np.sign,
    "clamp": lambda x: np.clip(x, -1, 1),
    "signed_log1p": lambda x: np.sign(x) * np.log(1 + np.abs(x)),
    "bent_identity": lambda x: (np.sqrt(x * x + 1) - 1) / 2 + x,
}


def _random_sines(pool: RandomPool) -> Activation:
    count = pool.integer(3, 7)
    amplitude = pool.normal(count).astype(np.float32)
    log_lo, log_hi = np.log(0.1), np.log(10.0)
    frequency = np.exp(log_lo + (log_hi - log_lo) * pool.uniform(count)).astype(np.float32)
    phase = (2 * np.pi * pool.uniform(count)).astype(np.float32)

    def sines(x: np.ndarray) -> np.ndarray:
        out = np.zeros_like(x)
        for a, f, p in zip(amplitude, frequency, phase, strict=True):
            out += a * np.sin(f * x + p)
        return out

    return sines


def make_activation(name: str, pool: RandomPool) -> Activation:
    """The activation called ``name`` (see ``config.ACTIVATIONS``)."""
    if name == "random_sines":
        return _random_sines(pool)
    return _FIXED[name]
