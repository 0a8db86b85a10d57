"""Exogenous values of SCM source nodes (in-degree 0), generated block by block.

A source is sampled once per table (its parameters) and then asked for the values
of consecutive row blocks ``[start, stop)`` with a random stream per block. The
``ts`` source carries its AR(1) state from one block to the next (blocks are
always generated in order), so values never depend on how rows are chunked.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from plurel_sql.config import SCMParams
from plurel_sql.sampling import draw_choice, draw_float, draw_int


def _value_range(params: SCMParams, rng: np.random.Generator) -> tuple[float, float]:
    scale = float(draw_choice(rng, params.value_scales))
    lo, hi = np.sort(rng.random(2)) * scale
    return float(lo), float(hi)


def ar1(shocks: np.ndarray, rho: float, previous: float = 0.0) -> np.ndarray:
    """y_t = rho * y_(t-1) + shocks_t with y_(-1) = ``previous``, vectorized.

    A log-step scan: after the step with offset k, y_t holds the sum of
    rho^(t-s) * shocks_s over the last 2k rows, so ceil(log2(n)) numpy passes replace
    a Python loop (scipy.signal.lfilter does the same but costs seconds to import).
    Steps stop once rho^k underflows, when older rows no longer change the result.
    """
    y = np.array(shocks, dtype=np.float64)
    n = len(y)
    if n == 0:
        return y
    k, factor = 1, rho
    while k < n and factor != 0.0 and abs(factor) > 1e-300:
        shifted = y[:-k] * factor
        y[k:] += shifted
        k, factor = 2 * k, factor * factor
    if previous != 0.0 and rho != 0.0:  # the state carried in from the previous block
        y += previous * rho ** np.arange(1, n + 1, dtype=np.float64)
    return y


@dataclass
class TimeSeriesSource:
    """(trend + cycle + AR(1) noise) / 3; cycle and noise clamped to [lo, hi], the
    trend only to at most hi (so a negative trend scale gives a falling series)."""

    num_rows: int
    lo: float
    hi: float
    alpha: float
    trend_scale: float
    cycle_period: float
    cycle_scale: float
    noise_scale: float
    rho: float
    _state: np.ndarray = field(default_factory=lambda: np.zeros(1))

    @classmethod
    def sample(
        cls, params: SCMParams, num_rows: int, activity: bool, rng: np.random.Generator
    ) -> TimeSeriesSource:
        lo, hi = _value_range(params, rng)
        if activity:
            trend_scale = float(draw_choice(rng, params.activity_trend_scales))
            cycle_scale = float(draw_choice(rng, params.activity_cycle_scales))
            noise_scale = params.activity_noise_scale
        else:
            trend_scale, cycle_scale = params.entity_trend_scale, params.entity_cycle_scale
            noise_scale = params.entity_noise_scale
        return cls(
            num_rows=num_rows,
            lo=lo,
            hi=hi,
            alpha=draw_float(rng, params.ts_trend_alpha),
            trend_scale=trend_scale,
            cycle_period=float(np.ceil(num_rows * draw_choice(rng, params.ts_cycle_fractions))),
            cycle_scale=cycle_scale,
            noise_scale=noise_scale,
            rho=draw_float(rng, params.ts_ar_rho),
        )

    def values(self, start: int, stop: int, rng: np.random.Generator) -> np.ndarray:
        i = np.arange(start, stop, dtype=np.float64)
        # bounded from above only, as in the reference: a negative scale falls below lo
        trend = np.minimum(self.trend_scale * (i / self.num_rows) ** self.alpha + self.lo, self.hi)
        cycle = np.clip(
            self.cycle_scale * np.sin(np.pi * i / max(self.cycle_period, 1.0)), self.lo, self.hi
        )
        shocks = rng.standard_normal(stop - start) * self.noise_scale
        state = ar1(shocks, self.rho, float(self._state[0]))
        if len(state):
            self._state = state[-1:].copy()
        noise = np.clip(state, self.lo, self.hi)
        return ((trend + cycle + noise) / 3.0).astype(np.float32)


@dataclass
class UniformSource:
    lo: float
    hi: float

    def values(self, start: int, stop: int, rng: np.random.Generator) -> np.ndarray:
        return rng.uniform(self.lo, self.hi, stop - start).astype(np.float32)


@dataclass
class GaussianSource:
    lo: float
    hi: float

    def values(self, start: int, stop: int, rng: np.random.Generator) -> np.ndarray:
        mean, std = (self.lo + self.hi) / 2, max((self.hi - self.lo) / 4, 1e-6)
        return np.clip(rng.normal(mean, std, stop - start), self.lo, self.hi).astype(np.float32)


@dataclass
class BetaSource:
    a: float
    b: float
    lo: float
    hi: float

    def values(self, start: int, stop: int, rng: np.random.Generator) -> np.ndarray:
        draws = rng.beta(self.a, self.b, stop - start)
        return (self.lo + draws * (self.hi - self.lo)).astype(np.float32)


@dataclass
class MixedSource:
    """Each row takes the value of one of 2-3 iid components, picked uniformly."""

    components: list[UniformSource | GaussianSource | BetaSource]

    def values(self, start: int, stop: int, rng: np.random.Generator) -> np.ndarray:
        pick = rng.integers(len(self.components), size=stop - start)
        out = np.empty(stop - start, dtype=np.float32)
        for c, component in enumerate(self.components):
            sel = pick == c
            out[sel] = component.values(0, int(sel.sum()), rng)
        return out


@dataclass
class CategoricalIIDSource:
    """Categories drawn iid from Dirichlet(1) probabilities."""

    cdf: np.ndarray

    def values(self, start: int, stop: int, rng: np.random.Generator) -> np.ndarray:
        u = rng.random(stop - start)
        return np.minimum(np.searchsorted(self.cdf, u, side="right"), len(self.cdf) - 1)


@dataclass
class CategoricalTimeSeriesSource:
    """One time series per category; a row's category is drawn from the softmax
    of the series' values at that row."""

    series: list[TimeSeriesSource]

    def values(self, start: int, stop: int, rng: np.random.Generator) -> np.ndarray:
        logits = np.stack([s.values(start, stop, rng) for s in self.series], axis=1)
        logits = logits.astype(np.float64)
        logits -= logits.max(axis=1, keepdims=True)
        probs = np.exp(logits)
        cdf = np.cumsum(probs, axis=1)
        u = rng.random(stop - start)[:, None] * cdf[:, -1:]
        return np.minimum((cdf < u).sum(axis=1), len(self.series) - 1).astype(np.int64)


Source = (
    TimeSeriesSource
    | UniformSource
    | GaussianSource
    | BetaSource
    | MixedSource
    | CategoricalIIDSource
    | CategoricalTimeSeriesSource
)


def _iid_numeric(kind: str, params: SCMParams, rng: np.random.Generator):
    lo, hi = _value_range(params, rng)
    if kind == "uniform":
        return UniformSource(lo, hi)
    if kind == "gaussian":
        return GaussianSource(lo, hi)
    a = draw_float(rng, params.source_beta_a)
    b = draw_float(rng, params.source_beta_b)
    return BetaSource(a, b, lo, hi)


def sample_source(
    params: SCMParams,
    num_categories: int | None,
    num_rows: int,
    activity: bool,
    rng: np.random.Generator,
) -> Source:
    """A source of the configured kinds; categorical when ``num_categories`` is set."""
    kind = draw_choice(rng, params.sources)
    if num_categories is not None:
        if kind == "ts":
            return CategoricalTimeSeriesSource(
                [
                    TimeSeriesSource.sample(params, num_rows, activity, rng)
                    for _ in range(num_categories)
                ]
            )
        probs = rng.dirichlet(np.ones(num_categories))
        return CategoricalIIDSource(np.cumsum(probs))
    if kind == "ts":
        return TimeSeriesSource.sample(params, num_rows, activity, rng)
    if kind == "mixed":
        count = draw_int(rng, params.mixed_components)
        kinds = [draw_choice(rng, ("uniform", "gaussian", "beta")) for _ in range(count)]
        return MixedSource([_iid_numeric(k, params, rng) for k in kinds])
    return _iid_numeric(kind, params, rng)
