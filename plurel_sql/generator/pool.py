"""A buffered source of uniform and normal draws for sampling thousands of small MLPs.

A table's SCM has hundreds to thousands of small weight matrices; drawing each
from a numpy Generator costs ~10-20 us of call overhead per draw, which dominated
generation of small tables. ``RandomPool`` draws large buffers once and hands out
consecutive slices, so the values depend only on the generator and on the order of
requests (deterministic), at a fraction of the cost.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TypeVar

import numpy as np

T = TypeVar("T")

_BUFFER = 1 << 15


class RandomPool:
    def __init__(self, rng: np.random.Generator, buffer: int = _BUFFER):
        self.rng = rng
        self._buffer = buffer
        self._uniform = np.empty(0)
        self._u_pos = 0
        self._normal = np.empty(0)
        self._n_pos = 0

    def scalar(self) -> float:
        """One U[0, 1) value (the same stream as :meth:`uniform`)."""
        if self._u_pos >= len(self._uniform):
            self._uniform = self._draw_uniform(self._buffer)
            self._u_pos = 0
        self._u_pos += 1
        return float(self._uniform[self._u_pos - 1])

    def uniform(self, size: int | tuple[int, ...]) -> np.ndarray:
        """U[0, 1) values of the given shape (float32)."""
        return self._take("_uniform", "_u_pos", self._draw_uniform, size)

    def normal(self, size: int | tuple[int, ...]) -> np.ndarray:
        """Standard normal values of the given shape (float32)."""
        return self._take("_normal", "_n_pos", self._draw_normal, size)

    def _draw_uniform(self, count: int) -> np.ndarray:
        return self.rng.random(count, dtype=np.float32)

    def _draw_normal(self, count: int) -> np.ndarray:
        return self.rng.standard_normal(count, dtype=np.float32)

    def _take(self, buffer: str, position: str, draw, size: int | tuple[int, ...]) -> np.ndarray:
        count = size if isinstance(size, int) else math.prod(size)
        values, pos = getattr(self, buffer), getattr(self, position)
        if pos + count > len(values):
            values, pos = draw(max(self._buffer, count)), 0
            setattr(self, buffer, values)
        setattr(self, position, pos + count)
        return values[pos : pos + count].reshape(size)

    def integer(self, low: int, high: int) -> int:
        """Uniform integer in the inclusive range [low, high]."""
        return low + min(int(self.scalar() * (high - low + 1)), high - low)

    def between(self, low: float, high: float) -> float:
        return low + (high - low) * self.scalar()

    def choice(self, options: Sequence[T]) -> T:
        return options[self.integer(0, len(options) - 1)]
