"""Random MLPs, encoders and decoders of the SCM (float32), sampled in bulk.

An MLP has U[mlp_layers] weight matrices of hidden width ``embedding_dim``; every
matrix gets its own initializer and a Bernoulli mask of density U[weight_density]
(rescaled by 1/density); every hidden layer gets an activation and a scale
exp(U[activation_log_scale]), frozen at construction. Pre-activations are clamped
to +-preactivation_clamp; inputs are finite (the SCM sanitizes embeddings), so
values stay finite without per-layer NaN checks.

A table's SCM needs hundreds to thousands of MLPs (millions of weights). They are
sampled together (:func:`sample_encoders`, :func:`sample_decoders`) into one weight
bank, drawn by the compiled kernels in one call (:func:`draw_bank`), and run by the
compiled kernels (``_kernels.c``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from plurel_sql.config import SCMParams
from plurel_sql.generate import _kernels
from plurel_sql.generate.activations import NO_PARAMS, Activation, make_activation
from plurel_sql.generate.pool import RandomPool

_INIT_CODES = {name: code for code, name in enumerate(_kernels.INITIALIZERS)}


def draw_bank(
    params: SCMParams,
    shapes: list[tuple[int, int]],
    pool: RandomPool,
    masked: bool,
    factors: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw one matrix per shape, multiplied by ``factors[i]`` (default 1), into one
    flat float32 array (the bank); returns (bank, offset of each matrix, row-major).

    Each matrix has its own initializer and (if ``masked``) its own Bernoulli mask
    density, rescaled by 1/density. The per-matrix choices come from ``pool``; the
    entries come from the compiled kernels' own generator (xoshiro128** on 8 lanes,
    seeded from ``pool``), ~1 ns per entry where numpy's float32 normals cost ~12 ns.
    """
    count = len(shapes)
    names = params.initializers
    which = np.minimum((pool.uniform(count) * len(names)).astype(int), len(names) - 1)
    codes = np.array([_INIT_CODES[n] for n in names], dtype=np.int32)[which]
    if masked:
        lo, hi = params.weight_density
        density = np.maximum(lo + (hi - lo) * pool.uniform(count), np.float32(1e-6))
    else:
        density = np.ones(count, dtype=np.float32)
    if factors is None:
        factors = np.ones(count, dtype=np.float32)
    shape_array = np.array(shapes, dtype=np.int32).reshape(count, 2)
    sizes = shape_array[:, 0].astype(np.int64) * shape_array[:, 1]
    offsets = np.cumsum(sizes) - sizes
    bank = np.empty(int(sizes.sum()), dtype=np.float32)
    seed = int(pool.rng.integers(0, 2**63))
    _kernels.fill_bank(
        bank,
        offsets,
        shape_array,
        codes,
        density.astype(np.float32),
        np.ascontiguousarray(factors, dtype=np.float32),
        seed,
    )
    return bank, offsets


def sample_matrices(
    params: SCMParams, shapes: list[tuple[int, int]], pool: RandomPool, masked: bool
) -> list[np.ndarray]:
    """One float32 matrix per shape, each with its own initializer and (if
    ``masked``) its own Bernoulli mask density (see :func:`draw_bank`)."""
    bank, offsets = draw_bank(params, shapes, pool, masked)
    return [
        bank[o : o + a * b].reshape(a, b)
        for o, (a, b) in zip(offsets.tolist(), shapes, strict=True)
    ]


@dataclass
class MLP:
    """A frozen random MLP; runs in the compiled kernels (``_kernels.c``).

    ``packed`` is what the kernels read: a weight bank shared with the other MLPs
    sampled together, meta = [layers, dims, activation codes, parameter offsets,
    matrix offsets], and the activations' parameters. The matrices are stored as
    the kernels use them: every hidden layer's scale ``exp(U)`` is folded into the
    next matrix (``(s * a) @ W == a @ (s * W)``), an output scale (an edge weight)
    into the last one.
    """

    activations: list[Activation]
    clamp: float
    packed: tuple[np.ndarray, np.ndarray, np.ndarray]

    @property
    def weights(self) -> list[np.ndarray]:
        """The (folded) matrices, as views of the bank."""
        bank, meta, _ = self.packed
        layers = int(meta[0])
        dims = meta[1 : layers + 2].tolist()
        starts = meta[3 * layers :].tolist()
        return [
            bank[o : o + dims[j] * dims[j + 1]].reshape(dims[j], dims[j + 1])
            for j, o in enumerate(starts)
        ]

    @property
    def out_dim(self) -> int:
        meta = self.packed[1]
        return int(meta[int(meta[0]) + 1])

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Apply to rows of ``x`` (n, in_dim) -> (n, out_dim), float32."""
        x = np.ascontiguousarray(x, dtype=np.float32)
        out = np.empty((x.shape[0], self.out_dim), dtype=np.float32)
        _kernels.mlp_forward(x, out, *self.packed, self.clamp)
        return out


def sample_mlps(
    params: SCMParams,
    dims: list[tuple[int, int]],
    pool: RandomPool,
    output_scales: np.ndarray | None = None,
) -> list[MLP]:
    """One MLP per (in_dim, out_dim), all sampled together into one weight bank;
    MLP i's last matrix is multiplied by ``output_scales[i]`` (default 1)."""
    lo, hi = params.mlp_layers
    layers = lo + np.minimum((pool.uniform(len(dims)) * (hi - lo + 1)).astype(int), hi - lo)
    hidden_layers = int((layers - 1).sum())
    names = params.activations
    act_codes = np.minimum((pool.uniform(hidden_layers) * len(names)).astype(int), len(names) - 1)
    s_lo, s_hi = params.activation_log_scale
    scales = np.exp(s_lo + (s_hi - s_lo) * pool.uniform(hidden_layers)).astype(np.float32)
    if output_scales is None:
        output_scales = np.ones(len(dims), dtype=np.float32)
    hidden = params.embedding_dim
    shapes: list[tuple[int, int]] = []
    factors: list[float] = []
    scale_list = scales.tolist()
    h = 0
    for (in_dim, out_dim), count, out_scale in zip(
        dims, layers.tolist(), np.asarray(output_scales, np.float32).tolist(), strict=True
    ):
        sizes = [in_dim] + [hidden] * (count - 1) + [out_dim]
        shapes += [(sizes[j], sizes[j + 1]) for j in range(count)]
        mlp_factors = [1.0, *scale_list[h : h + count - 1]]  # the scale of the layer before
        mlp_factors[-1] *= out_scale
        factors += mlp_factors
        h += count - 1
    bank, offsets = draw_bank(params, shapes, pool, True, np.array(factors, dtype=np.float32))
    offset_list = offsets.tolist()
    mlps, m, h = [], 0, 0
    for count, (in_dim, _) in zip(layers.tolist(), dims, strict=True):
        acts = [make_activation(names[code], pool) for code in act_codes[h : h + count - 1]]
        param_offsets, act_params, at = [], [], 0
        for act in acts:
            if act.params is NO_PARAMS:
                param_offsets.append(0)
            else:
                param_offsets.append(at)
                act_params.append(act.params)
                at += len(act.params)
        meta = np.array(
            [
                count,
                in_dim,
                *(b for _, b in shapes[m : m + count]),
                *(a.code for a in acts),
                *param_offsets,
                *offset_list[m : m + count],
            ],
            dtype=np.int32,
        )
        packed_params = np.concatenate(act_params) if act_params else NO_PARAMS
        mlps.append(MLP(acts, params.preactivation_clamp, (bank, meta, packed_params)))
        m += count
        h += count - 1
    return mlps


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
    params: SCMParams,
    categories: list[int | None],
    pool: RandomPool,
    output_scales: np.ndarray | None = None,
) -> list[Encoder]:
    """One encoder per entry: numerical for None, else categorical with k categories;
    encoder i's output is multiplied by ``output_scales[i]`` (before its last clamp)."""
    d = params.embedding_dim
    dims = [(1, d) if k is None else (d, d) for k in categories]
    mlps = sample_mlps(params, dims, pool, output_scales)
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
