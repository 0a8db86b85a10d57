"""Random MLPs, encoders and decoders of the SCM (numpy float32), sampled in bulk.

An MLP has U[mlp_layers] weight matrices of hidden width ``embedding_dim``; every
matrix gets its own initializer and a Bernoulli mask of density U[weight_density]
(rescaled by 1/density); every hidden layer gets an activation and a scale
exp(U[activation_log_scale]), frozen at construction. Pre-activations are clamped
to +-preactivation_clamp; inputs are finite (the SCM sanitizes embeddings), so
values stay finite without per-layer NaN checks.

A table's SCM needs hundreds to thousands of MLPs. They are sampled together
(:func:`sample_encoders`, :func:`sample_decoders`): all matrices of one shape are
drawn as one (count, fan_in, fan_out) array and every initializer is applied to its
group at once, which is ~10x cheaper than drawing matrix by matrix.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy import special

from plurel_sql.config import SCMParams
from plurel_sql.generate.activations import Activation, make_activation
from plurel_sql.generate.pool import RandomPool

_TRUNC_LO = float(special.ndtr(-2.0))
_GROUP = 256  # matrices drawn per array: bounds the float64 scratch to ~6 MB


_NEEDS = {  # which pre-drawn arrays an initializer uses: (normal, uniform)
    "kaiming_normal": (True, False),
    "kaiming_uniform": (False, True),
    "xavier_normal": (True, False),
    "xavier_uniform": (False, True),
    "trunc_normal": (False, True),
    "sparse": (True, True),
}


def _initialize(
    name: str, shape: tuple[int, ...], normal: np.ndarray | None, uniform: np.ndarray | None
) -> np.ndarray:
    """Weights (g, fan_in, fan_out) by the named initializer from pre-drawn N(0,1)
    and U[0,1) arrays."""
    fan_in, fan_out = shape[1], shape[2]
    if name == "kaiming_normal":
        return normal * np.float32(np.sqrt(2.0 / fan_in))
    if name == "kaiming_uniform":
        return (2 * uniform - 1) * np.float32(np.sqrt(6.0 / fan_in))
    if name == "xavier_normal":
        return normal * np.float32(np.sqrt(2.0 / (fan_in + fan_out)))
    if name == "xavier_uniform":
        return (2 * uniform - 1) * np.float32(np.sqrt(6.0 / (fan_in + fan_out)))
    if name == "trunc_normal":
        # N(0, 1) restricted to [-2, 2]: inverse CDF of a uniform on [Phi(-2), Phi(2)]
        return special.ndtri(np.float32(_TRUNC_LO) + np.float32(1 - 2 * _TRUNC_LO) * uniform)
    if name == "sparse":
        # N(0, 0.01) with half of the entries of every output column zeroed
        rank = uniform.argsort(axis=1).argsort(axis=1)
        return np.where(rank < int(np.ceil(0.5 * fan_in)), 0, normal * np.float32(0.01))
    raise ValueError(f"unknown initializer {name}")


def sample_matrices(
    params: SCMParams, shapes: list[tuple[int, int]], pool: RandomPool, masked: bool
) -> list[np.ndarray]:
    """One float32 matrix per shape, each with its own initializer and (if
    ``masked``) its own Bernoulli mask density. Matrices of one shape and
    initializer are drawn together, in groups of at most ``_GROUP``."""
    count = len(shapes)
    names = params.initializers
    which = np.minimum((pool.uniform(count) * len(names)).astype(int), len(names) - 1)
    lo, hi = params.weight_density
    density = np.maximum(lo + (hi - lo) * pool.uniform(count), np.float32(1e-6))
    groups: dict[tuple[tuple[int, int], int], list[int]] = {}
    for i, shape in enumerate(shapes):
        groups.setdefault((shape, int(which[i])), []).append(i)
    out: list[np.ndarray] = [np.empty(0, dtype=np.float32)] * count
    for (shape, code), ids in sorted(groups.items()):
        name = names[code]
        use_normal, use_uniform = _NEEDS[name]
        for start in range(0, len(ids), _GROUP):
            members = np.array(ids[start : start + _GROUP])
            size = (len(members), *shape)
            normal = pool.normal(size) if use_normal else None
            uniform = pool.uniform(size) if use_uniform else None
            weights = _initialize(name, size, normal, uniform).astype(np.float32)
            if masked:
                d = density[members][:, None, None]
                weights = weights * ((pool.uniform(size) < d) / d)
            for row, i in enumerate(members.tolist()):
                out[i] = weights[row]
    return out


@dataclass
class MLP:
    weights: list[np.ndarray]
    activations: list[Activation]
    scales: list[float]
    clamp: float

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


def sample_mlps(params: SCMParams, dims: list[tuple[int, int]], pool: RandomPool) -> list[MLP]:
    """One MLP per (in_dim, out_dim), all sampled together."""
    lo, hi = params.mlp_layers
    layers = lo + np.minimum((pool.uniform(len(dims)) * (hi - lo + 1)).astype(int), hi - lo)
    hidden = params.embedding_dim
    shapes: list[tuple[int, int]] = []
    for (in_dim, out_dim), count in zip(dims, layers.tolist(), strict=True):
        sizes = [in_dim] + [hidden] * (count - 1) + [out_dim]
        shapes += [(sizes[j], sizes[j + 1]) for j in range(count)]
    matrices = sample_matrices(params, shapes, pool, masked=True)
    hidden_layers = int((layers - 1).sum())
    names = params.activations
    act_codes = np.minimum((pool.uniform(hidden_layers) * len(names)).astype(int), len(names) - 1)
    s_lo, s_hi = params.activation_log_scale
    scales = np.exp(s_lo + (s_hi - s_lo) * pool.uniform(hidden_layers)).tolist()
    mlps, m, h = [], 0, 0
    for count in layers.tolist():
        acts = [make_activation(names[code], pool) for code in act_codes[h : h + count - 1]]
        mlps.append(
            MLP(
                matrices[m : m + count], acts, scales[h : h + count - 1], params.preactivation_clamp
            )
        )
        m += count
        h += count - 1
    return mlps


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

    def __call__(self, values: np.ndarray) -> np.ndarray:
        return self.table[values]


Encoder = NumericEncoder | CategoricalEncoder


def sample_encoders(
    params: SCMParams, categories: list[int | None], pool: RandomPool
) -> list[Encoder]:
    """One encoder per entry: numerical for None, else categorical with k categories."""
    d = params.embedding_dim
    mlps = sample_mlps(params, [(1, d) if k is None else (d, d) for k in categories], pool)
    cat = [i for i, k in enumerate(categories) if k is not None]
    tables = sample_matrices(params, [(categories[i], d) for i in cat], pool, masked=False)
    encoders: list[Encoder] = [NumericEncoder(mlp) for mlp in mlps]
    for i, table in zip(cat, tables, strict=True):
        encoders[i] = CategoricalEncoder(mlps[i](table))
    return encoders


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


def sample_decoders(
    params: SCMParams, categories: list[int | None], pool: RandomPool
) -> list[Decoder]:
    """One decoder per entry: numerical for None, else categorical with k categories."""
    d = params.embedding_dim
    mlps = sample_mlps(params, [(d, 1) if k is None else (d, d) for k in categories], pool)
    cat = [i for i, k in enumerate(categories) if k is not None]
    tables = sample_matrices(params, [(categories[i], d) for i in cat], pool, masked=False)
    decoders: list[Decoder] = [NumericDecoder(mlp) for mlp in mlps]
    for i, table in zip(cat, tables, strict=True):
        decoders[i] = CategoricalDecoder(mlps[i], table)
    return decoders
