"""Random MLPs, encoders and decoders of the SCM (float32), sampled in bulk.

An MLP has U[mlp_layers] weight matrices of hidden width ``embedding_dim``; every
matrix gets its own initializer and a Bernoulli mask of density U[weight_density]
(rescaled by 1/density); every hidden layer gets an activation and a scale
exp(U[activation_log_scale]), frozen at construction. As in the reference, a hidden
layer's output, scale x activation, is clamped to +-activation_clamp and the last
layer is not clamped; products that overflow float32 become +-FLT_MAX (NaN:
-FLT_MAX), so every output is finite.

A table's SCM needs hundreds to thousands of MLPs (millions of weights). They are
sampled together (:func:`sample_encoders`, :func:`sample_decoders`) into one weight
bank, drawn by the compiled kernels in one call (:func:`draw_bank`), and run by the
compiled kernels (``_kernels.c``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from plurel_sql.config import SCMParams
from plurel_sql.generator import _kernels
from plurel_sql.generator.activations import (
    ACTIVATION_CODES,
    ACTIVATION_NAMES,
    Activation,
    make_activation,
    random_sines_params,
)
from plurel_sql.generator.pool import RandomPool

_INIT_CODES = {name: code for code, name in enumerate(_kernels.INITIALIZERS)}
# every layer's product is clamped to this: finite values pass, +-inf become +-FINITE
# and NaN -FINITE (overflowing inputs), so outputs are finite
FINITE = float(np.finfo(np.float32).max)


def draw_bank(
    params: SCMParams,
    shapes: list[tuple[int, int]] | np.ndarray,
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
    if sizes.sum() >= 2**31:  # MLP meta holds int32 offsets into the bank
        raise ValueError(f"a weight bank of {sizes.sum()} floats is too large (max 2**31 - 1)")
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
    matrix offsets], and the hidden layers' parameters (each layer's output clamp,
    then its activation's parameters; shared with the other MLPs too). The matrices
    are stored as the kernels use them: every hidden layer's scale ``exp(U)`` is
    folded into the next matrix (``(s * a) @ W == a @ (s * W)``), an output scale (an
    edge weight) into the last one; so a layer's activation is clamped to
    ``activation_clamp / s``, which is ``clip(s * a, +-activation_clamp) / s``.
    """

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
    def activations(self) -> list[Activation]:
        """The activation after each hidden layer."""
        _, meta, params = self.packed
        layers = int(meta[0])
        codes = meta[layers + 2 : 2 * layers + 1].tolist()
        offsets = meta[2 * layers + 1 : 3 * layers].tolist()
        out = []
        for code, at in zip(codes, offsets, strict=True):
            name = ACTIVATION_NAMES[code]
            if name == "random_sines":
                out.append(Activation(name, params[at : at + 1 + 3 * int(params[at])]))
            else:
                out.append(make_activation(name, None))
        return out

    @property
    def output_clamps(self) -> np.ndarray:
        """The clamp of each hidden layer's activation (before its folded scale)."""
        _, meta, params = self.packed
        layers = int(meta[0])
        return params[meta[2 * layers + 1 : 3 * layers] - 1]

    @property
    def out_dim(self) -> int:
        meta = self.packed[1]
        return int(meta[int(meta[0]) + 1])

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Apply to rows of ``x`` (n, in_dim) -> (n, out_dim), float32."""
        x = np.ascontiguousarray(x, dtype=np.float32)
        out = np.empty((x.shape[0], self.out_dim), dtype=np.float32)
        _kernels.mlp_forward(x, out, *self.packed, FINITE)
        return out


def sample_mlps(
    params: SCMParams,
    dims: list[tuple[int, int]],
    pool: RandomPool,
    output_scales: np.ndarray | None = None,
) -> list[MLP]:
    """One MLP per (in_dim, out_dim), all sampled together into one weight bank;
    MLP i's last matrix is multiplied by ``output_scales[i]`` (default 1).

    Bookkeeping is vectorized over the MLPs of each depth: a table can need
    thousands of MLPs, and per-MLP Python work dominated sampling."""
    count = len(dims)
    lo, hi = params.mlp_layers
    layers = lo + np.minimum((pool.uniform(count) * (hi - lo + 1)).astype(int), hi - lo)
    hidden_layers = int((layers - 1).sum())
    names = params.activations
    name_codes = np.array([ACTIVATION_CODES[n] for n in names], dtype=np.int32)
    act_codes = name_codes[
        np.minimum((pool.uniform(hidden_layers) * len(names)).astype(int), len(names) - 1)
    ]
    s_lo, s_hi = params.activation_log_scale
    scales = np.exp(s_lo + (s_hi - s_lo) * pool.uniform(hidden_layers)).astype(np.float32)
    out_scales = (
        np.ones(count, dtype=np.float32)
        if output_scales is None
        else np.asarray(output_scales, dtype=np.float32)
    )
    dims_array = np.array(dims, dtype=np.int32).reshape(count, 2)
    # matrices in MLP order: MLP i has layers[i] of them, hidden width in between
    matrix_mlp = np.repeat(np.arange(count), layers)
    first_matrix = np.cumsum(layers) - layers
    position = np.arange(len(matrix_mlp)) - first_matrix[matrix_mlp]
    is_first = position == 0
    is_last = position == layers[matrix_mlp] - 1
    hidden = params.embedding_dim
    rows = np.where(is_first, dims_array[matrix_mlp, 0], hidden)
    cols = np.where(is_last, dims_array[matrix_mlp, 1], hidden)
    # matrix j > 0 of an MLP carries the scale of hidden layer j - 1
    factors = np.ones(len(matrix_mlp), dtype=np.float32)
    factors[~is_first] = scales
    factors[is_last] *= out_scales
    shapes = np.stack([rows, cols], axis=1).astype(np.int32)
    bank, offsets = draw_bank(params, shapes, pool, True, factors)
    # one parameter array for all hidden layers: per layer the clamp of its output,
    # then (random_sines only) its parameters, drawn all at once in layer order
    sines = np.flatnonzero(act_codes == ACTIVATION_CODES["random_sines"])
    sines_params = random_sines_params(pool, len(sines))
    sizes = np.ones(hidden_layers, dtype=np.int64)
    sizes[sines] += np.array([len(p) for p in sines_params], dtype=np.int64)
    param_offset = np.cumsum(sizes) - sizes + 1  # where each layer's parameters start
    # (one float more: the kernels want every offset inside the array, even where
    # the last layer's activation takes no parameters)
    layer_params = np.zeros(int(sizes.sum()) + 1, dtype=np.float32)
    # the method clamps scale x activation; the scale is folded into the next matrix
    layer_params[param_offset - 1] = params.activation_clamp / scales.astype(np.float64)
    for at, params_h in zip(param_offset[sines].tolist(), sines_params, strict=True):
        layer_params[at : at + len(params_h)] = params_h
    mlps: list[MLP | None] = [None] * count
    hidden_start = np.cumsum(layers - 1) - (layers - 1)
    for depth in np.unique(layers).tolist():
        members = np.flatnonzero(layers == depth)
        m0 = first_matrix[members][:, None] + np.arange(depth)
        h0 = hidden_start[members][:, None] + np.arange(depth - 1)
        meta = np.concatenate(
            [
                np.full((len(members), 1), depth),
                dims_array[members, :1],
                cols[m0],
                act_codes[h0],
                param_offset[h0],
                offsets[m0],
            ],
            axis=1,
        ).astype(np.int32)
        for row, i in enumerate(members.tolist()):
            mlps[i] = MLP((bank, meta[row], layer_params))
    return mlps  # type: ignore[return-value]


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
    encoder i's output is multiplied by ``output_scales[i]`` (folded into its last,
    unclamped layer)."""
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
        out = np.empty(len(emb), dtype=np.int64)
        _kernels.argmax_similarity(self.mlp(emb), self.table, out)
        return out


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
