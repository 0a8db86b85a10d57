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
from functools import cached_property

import numpy as np
from scipy import special

from plurel_sql.config import SCMParams
from plurel_sql.generate.activations import Activation, make_activation
from plurel_sql.generate.pool import RandomPool


def init_weight(name: str, shape: tuple[int, int], pool: RandomPool) -> np.ndarray:
    """A weight matrix (fan_in, fan_out) drawn by the named initializer."""
    fan_in, fan_out = shape
    if name == "kaiming_normal":
        w = pool.normal(shape) * np.sqrt(2.0 / fan_in)
    elif name == "kaiming_uniform":
        w = (2.0 * pool.uniform(shape) - 1.0) * np.sqrt(6.0 / fan_in)
    elif name == "xavier_normal":
        w = pool.normal(shape) * np.sqrt(2.0 / (fan_in + fan_out))
    elif name == "xavier_uniform":
        w = (2.0 * pool.uniform(shape) - 1.0) * np.sqrt(6.0 / (fan_in + fan_out))
    elif name == "trunc_normal":
        # N(0, 1) restricted to [-2, 2], by inverse CDF of a uniform on [Phi(-2), Phi(2)]
        lo = special.ndtr(-2.0)
        w = special.ndtri(lo + (1.0 - 2.0 * lo) * pool.uniform(shape))
    elif name == "sparse":
        # N(0, 0.01) with half of the entries of every output column zeroed
        zeros = int(np.ceil(0.5 * fan_in))
        rank = pool.uniform(shape).argsort(axis=0).argsort(axis=0)
        w = np.where(rank < zeros, 0.0, pool.normal(shape) * 0.01)
    else:
        raise ValueError(f"unknown initializer {name}")
    return w.astype(np.float32)


@dataclass
class MLP:
    weights: list[np.ndarray]
    activations: list[Activation]
    scales: list[float]
    clamp: float

    @classmethod
    def sample(cls, params: SCMParams, in_dim: int, out_dim: int, pool: RandomPool) -> MLP:
        layers = pool.integer(*params.mlp_layers)
        hidden = params.embedding_dim
        dims = [in_dim] + [hidden] * (layers - 1) + [out_dim]
        weights = []
        for i in range(layers):
            w = init_weight(pool.choice(params.initializers), (dims[i], dims[i + 1]), pool)
            density = max(pool.between(*params.weight_density), 1e-6)
            mask = pool.uniform(w.shape) < density
            weights.append((w * mask / np.float32(density)).astype(np.float32))
        acts, scales = [], []
        for _ in range(layers - 1):
            acts.append(make_activation(pool.choice(params.activations), pool))
            scales.append(float(np.exp(pool.between(*params.activation_log_scale))))
        return cls(weights, acts, scales, params.preactivation_clamp)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Apply to rows of ``x`` (n, in_dim) -> (n, out_dim), float32.

        Layer scales are folded into the next layer's weights at construction
        (``(s * a) @ W == a @ (s * W)``), saving one pass over the activations.
        """
        c = np.float32(self.clamp)
        for w, act in zip(self._folded[:-1], self.activations, strict=True):
            x = act(_dense(x, w, c))
        return _dense(x, self._folded[-1], c)

    @cached_property
    def _folded(self) -> list[np.ndarray]:
        folded = [self.weights[0]]
        for w, scale in zip(self.weights[1:], self.scales, strict=True):
            folded.append((w * np.float32(scale)).astype(np.float32))
        return folded


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
    def sample(cls, params: SCMParams, k: int, pool: RandomPool) -> CategoricalEncoder:
        d = params.embedding_dim
        emb = init_weight(pool.choice(params.initializers), (k, d), pool)
        return cls(MLP.sample(params, d, d, pool)(emb))

    def __call__(self, values: np.ndarray) -> np.ndarray:
        return self.table[values]


Encoder = NumericEncoder | CategoricalEncoder


def sample_encoder(params: SCMParams, num_categories: int | None, pool: RandomPool) -> Encoder:
    """A numerical encoder when ``num_categories`` is None, else a categorical one."""
    if num_categories is None:
        return NumericEncoder(MLP.sample(params, 1, params.embedding_dim, pool))
    return CategoricalEncoder.sample(params, num_categories, pool)


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


def sample_decoder(params: SCMParams, num_categories: int | None, pool: RandomPool) -> Decoder:
    d = params.embedding_dim
    if num_categories is None:
        return NumericDecoder(MLP.sample(params, d, 1, pool))
    table = init_weight(pool.choice(params.initializers), (num_categories, d), pool)
    return CategoricalDecoder(MLP.sample(params, d, d, pool), table)
