"""Drawing values from configuration parameters: ranges, sets and the power law."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import numpy as np

T = TypeVar("T")


def draw_int(rng: np.random.Generator, bounds: Sequence[int]) -> int:
    """Uniform integer in the inclusive range ``[min, max]``."""
    lo, hi = bounds
    return int(rng.integers(lo, hi + 1))


def draw_float(rng: np.random.Generator, bounds: Sequence[float]) -> float:
    """Uniform float in ``[min, max]``."""
    lo, hi = bounds
    return float(rng.uniform(lo, hi)) if hi > lo else float(lo)


def draw_choice(rng: np.random.Generator, options: Sequence[T]) -> T:
    """One option, uniformly."""
    return options[int(rng.integers(len(options)))]


def power_law_pmf(bounds: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Support and probabilities of P(k) proportional to 1/k over ``[min, max]``."""
    lo, hi = bounds
    support = np.arange(lo, hi + 1)
    weights = 1.0 / support
    return support, weights / weights.sum()


def draw_power_law(rng: np.random.Generator, bounds: Sequence[int]) -> int:
    """Integer k in ``[min, max]`` with P(k) proportional to 1/k (most small, few large)."""
    support, probs = power_law_pmf(bounds)
    return int(
        support[
            np.searchsorted(np.cumsum(probs), rng.random(), side="right").clip(0, len(support) - 1)
        ]
    )
