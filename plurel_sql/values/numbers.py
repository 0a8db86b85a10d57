"""Monotone maps from the SCM's raw numbers onto a target range.

The causal model's dependencies live in the *order* of a column's values, so every
map here is non-decreasing in the raw value: rows that compare one way before
landing compare the same way (or become equal) after. Ties stay ties.
"""

from __future__ import annotations

import numpy as np
from scipy import special

#: The normal map puts lo and hi at -+3 sigma.
NORMAL_SIGMAS = 3.0
#: A log range starts at lo only when lo is at least this fraction of hi; below (a
#: range from 0, or from a strict ``> 0`` bound) values are log-spaced over 1 + value.
LOG_FLOOR = 1e-3
#: The ``scm`` map spreads the SCM's values between these quantiles (outliers clip).
SCM_QUANTILES = (0.005, 0.995)


def _finite(raw: np.ndarray) -> np.ndarray:
    x = np.asarray(raw, dtype=np.float64)
    return np.where(np.isnan(x), -np.inf, x)


def midranks(raw: np.ndarray) -> np.ndarray:
    """Each value's rank as a fraction in (0, 1); equal values share their mean rank
    (NaN counts as the smallest)."""
    x = _finite(raw)
    n = len(x)
    if n == 0:
        return np.empty(0, dtype=np.float64)
    _, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    below = np.cumsum(counts) - counts
    return (below[inverse] + counts[inverse] / 2.0) / n


def ordinal_ranks(raw: np.ndarray) -> np.ndarray:
    """Rank positions 0..n-1, ties broken by row order (NaN smallest)."""
    x = _finite(raw)
    out = np.empty(len(x), dtype=np.int64)
    out[np.argsort(x, kind="stable")] = np.arange(len(x), dtype=np.int64)
    return out


def spread(
    raw: np.ndarray, lo: float, hi: float, distribution: str, integral: bool = False
) -> np.ndarray:
    """``raw`` mapped monotonically onto ``[lo, hi]`` (float64).

    ``uniform``/``log``/``normal`` place each value at its rank's quantile of that
    distribution over the range (``log``: log-spaced from ``lo``, so most values are
    small, the way prices and counts are); ``scm`` keeps the SCM's own shape, an
    affine map of its central 99 % onto the range. ``integral`` values are whole
    numbers, each of ``lo..hi`` reachable."""
    if hi < lo:
        raise ValueError(f"empty range [{lo}, {hi}]")
    top = hi + 1.0 if integral else hi
    if distribution == "scm":
        x = _finite(raw)
        finite = x[np.isfinite(x)]
        if len(finite) == 0:
            values = np.full(len(x), lo, dtype=np.float64)
        else:
            q_lo, q_hi = np.quantile(finite, SCM_QUANTILES)
            width = q_hi - q_lo
            unit = (np.clip(x, q_lo, q_hi) - q_lo) / width if width > 0 else np.full(len(x), 0.5)
            values = lo + unit * (top - lo)
    else:
        values = quantile_map(midranks(raw), lo, top, distribution)
    if integral:
        values = np.floor(values)
    return np.clip(values, lo, hi)


def quantile_map(u: np.ndarray, lo: float, hi: float, distribution: str) -> np.ndarray:
    """Fractions ``u`` in [0, 1] -> the distribution's quantiles over ``[lo, hi]``."""
    if distribution == "uniform":
        return lo + u * (hi - lo)
    if distribution == "log":
        if lo >= LOG_FLOOR * hi > 0:
            return np.exp(np.log(lo) + u * (np.log(hi) - np.log(lo)))
        return lo + np.expm1(u * np.log1p(hi - lo))  # from 0 (or a bound just above)
    if distribution == "normal":
        z = special.ndtri(np.clip(u, 1e-12, 1 - 1e-12)) / NORMAL_SIGMAS
        return np.clip((lo + hi) / 2.0 + z * (hi - lo) / 2.0, lo, hi)
    raise ValueError(f"unknown distribution {distribution!r}")
