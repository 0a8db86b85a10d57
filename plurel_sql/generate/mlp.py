"""Random MLPs, encoders and decoders of the SCM (numpy float32).

An MLP has U[mlp_layers] weight matrices of hidden width ``embedding_dim``; every
matrix gets its own initializer and a Bernoulli mask of density U[weight_density]
(rescaled by 1/density); every hidden layer gets an activation and a scale
exp(U[activation_log_scale]), frozen at construction. Pre-activations are clamped
to +-preactivation_clamp; inputs are finite (the SCM sanitizes embeddings), so
values stay finite without per-layer NaN checks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from plurel_sql.config import SCMParams
from plurel_sql.generate.activations import Activation, make_activation
from plurel_sql.sampling import draw_choice, draw_int


def init_weight(name: str, shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A weight matrix (fan_in, fan_out) drawn by the named initializer."""
    fan_in, fan_out = shape
    if name == "kaiming_normal":
        w = rng.normal(0.0, np.sqrt(2.0 / fan_in), shape)
    elif name == "kaiming_uniform":
        bound = np.sqrt(6.0 / fan_in)
        w = rng.uniform(-bound, bound, shape)
    elif name == "xavier_normal":
        w = rng.normal(0.0, np.sqrt(2.0 / (fan_in + fan_out)), shape)
    elif name == "xavier_uniform":
        bound = np.sqrt(6.0 / (fan_in + fan_out))
        w = rng.uniform(-bound, bound, shape)
    elif name == "trunc_normal":
        w = _truncated_normal(shape, rng)
    elif name == "sparse":
        # N(0, 0.01) with half of the entries of every output column zeroed
        w = rng.normal(0.0, 0.01, shape)
        zeros = int(np.ceil(0.5 * fan_in))
        rank = rng.random(shape).argsort(axis=0).argsort(axis=0)
        w[rank < zeros] = 0.0
    else:
        raise ValueError(f"unknown initializer {name}")
    return w.astype(np.float32)


def _truncated_normal(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """N(0, 1) restricted to [-2, 2] by redrawing the values outside."""
    w = rng.standard_normal(shape)
    bad = np.abs(w) > 2.0
    while bad.any():
        w[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(w) > 2.0
    return w


@dataclass
class MLP:
    weights: list[np.ndarray]
    activations: list[Activation]
    scales: list[float]
    clamp: float

    @classmethod
    def sample(cls, params: SCMParams, in_dim: int, out_dim: int, rng: np.random.Generator) -> MLP:
        layers = draw_int(rng, params.mlp_layers)
        hidden = params.embedding_dim
        dims = [in_dim] + [hidden] * (layers - 1) + [out_dim]
        # all per-layer choices in a few vectorized draws (MLPs are sampled by thousands)
        initializers = rng.integers(len(params.initializers), size=layers)
        densities = rng.uniform(*params.weight_density, size=layers)
        activations = rng.integers(len(params.activations), size=layers - 1)
        log_scales = rng.uniform(*params.activation_log_scale, size=layers - 1)
        weights = []
        for i in range(layers):
            w = init_weight(params.initializers[initializers[i]], (dims[i], dims[i + 1]), rng)
            density = max(float(densities[i]), 1e-6)
            mask = rng.random(w.shape) < density
            weights.append((w * mask / density).astype(np.float32))
        acts = [make_activation(params.activations[a], rng) for a in activations]
        scales = [float(s) for s in np.exp(log_scales)]
        return cls(weights, acts, scales, params.preactivation_clamp)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Apply to rows of ``x`` (n, in_dim) -> (n, out_dim), float32."""
        c = np.float32(self.clamp)
        for w, act, scale in zip(self.weights, self.activations, self.scales, strict=False):
            x = act(_dense(x, w, c))
            x *= np.float32(scale)
        return _dense(x, self.weights[-1], c)


def _dense(x: np.ndarray, w: np.ndarray, c: np.float32) -> np.ndarray:
    # an outer product is cheaper than a (n, 1) @ (1, k) matmul
    h = x * w[0] if x.shape[1] == 1 else x @ w
    return np.clip(h, -c, c, out=h)


@dataclass
class NumericEncoder:
    """Scalar value -> embedding: MLP(1 -> d)."""

    mlp: MLP

    def __call__(self, values: np.ndarray) -> np.ndarray:
        return self.mlp(values.astype(np.float32, copy=False).reshape(-1, 1))


@dataclass
class CategoricalEncoder:
    """Category -> embedding: embedding table (k x d) then MLP(d -> d). Since the
    result depends on the category only, it is computed once per category."""

    table: np.ndarray  # (k, d): MLP(embedding) for every category

    @classmethod
    def sample(cls, params: SCMParams, k: int, rng: np.random.Generator) -> CategoricalEncoder:
        d = params.embedding_dim
        emb = init_weight(draw_choice(rng, params.initializers), (k, d), rng)
        return cls(MLP.sample(params, d, d, rng)(emb))

    def __call__(self, values: np.ndarray) -> np.ndarray:
        return self.table[values]


Encoder = NumericEncoder | CategoricalEncoder


def sample_encoder(
    params: SCMParams, num_categories: int | None, rng: np.random.Generator
) -> Encoder:
    """A numerical encoder when ``num_categories`` is None, else a categorical one."""
    if num_categories is None:
        return NumericEncoder(MLP.sample(params, 1, params.embedding_dim, rng))
    return CategoricalEncoder.sample(params, num_categories, rng)


@dataclass
class NumericDecoder:
    """Embedding -> scalar: MLP(d -> 1)."""

    mlp: MLP

    def __call__(self, emb: np.ndarray) -> np.ndarray:
        return self.mlp(emb)[:, 0]


@dataclass
class CategoricalDecoder:
    """Embedding -> category: MLP(d -> d), then the argmax of the similarity with a
    per-node category embedding table."""

    mlp: MLP
    table: np.ndarray  # (k, d)

    def __call__(self, emb: np.ndarray) -> np.ndarray:
        return np.argmax(self.mlp(emb) @ self.table.T, axis=1).astype(np.int64)


Decoder = NumericDecoder | CategoricalDecoder


def sample_decoder(
    params: SCMParams, num_categories: int | None, rng: np.random.Generator
) -> Decoder:
    d = params.embedding_dim
    if num_categories is None:
        return NumericDecoder(MLP.sample(params, d, 1, rng))
    table = init_weight(draw_choice(rng, params.initializers), (num_categories, d), rng)
    return CategoricalDecoder(MLP.sample(params, d, d, rng), table)
