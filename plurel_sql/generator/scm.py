"""Stage 3: the structural causal model (SCM) that fills one table's features.

Per table a causal DAG is drawn (one of the seven layouts) with
``n_features + ceil(n_features / r) + 3`` nodes; feature columns sit on a random
subset of the nodes. Rows are computed block by block, all nodes at once in
topological order, fully vectorized over the rows of a block:

- a source node takes exogenous values (``sources.py``);
- any other node's 32-d embedding is Beta(a, b)/32 noise plus the aggregate
  (sum | max | product | logsumexp) of ``weight x encoder(parent value)`` over its
  parent nodes and of ``encoder(parent-row feature)`` over the features of every
  foreign-key parent row (weight 1/count under ``sum``), each term clamped to
  +-term_clamp; a decoder maps the embedding to a number or a category.

Propagation ``type_eager`` uses categorical encoders/decoders for categorical
nodes; ``type_lazy`` treats every node as numerical and quantizes categorical
columns afterwards (:class:`LazyQuantizer`).

Because every aggregation is associative, the contribution of a foreign-key
parent row is pre-reduced once per *parent* row (``ParentContribution``) and then
gathered by the foreign-key column, instead of re-encoding parent features per
child row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import special

from plurel_sql.config import GraphParams, SCMParams
from plurel_sql.generator import _kernels
from plurel_sql.generator.mlp import (
    FINITE,
    CategoricalEncoder,
    Decoder,
    Encoder,
    NumericEncoder,
    sample_decoders,
    sample_encoders,
)
from plurel_sql.generator.pool import RandomPool
from plurel_sql.generator.sources import Source, sample_source
from plurel_sql.graphs import DAG, sample_dag
from plurel_sql.rng import Draw, Name, key_seed, stream
from plurel_sql.sampling import draw_choice, draw_float, draw_int
from plurel_sql.schema.ir import Table

NOISE_QUANTILES = 64  # intervals of the inverse-CDF table used for Beta node noise
SUB_BLOCK_ROWS = 2048  # rows propagated together (cache-sized), within one RNG block
# encode a node's distinct values once when at most this fraction of its rows differ
DISTINCT_FRACTION = 0.75
DISTINCT_MAX = 1 << 24  # and at most this many (the kernel's hash table: 4 B x 4 per value)


@dataclass
class ParentFeatures:
    """What a child table reads from one parent table: its SCM output columns
    (numeric float32 or category int64) and how each was typed by its SCM."""

    columns: dict[str, np.ndarray]
    num_categories: dict[str, int | None]  # None = numerical in the parent's propagation


@dataclass
class Node:
    index: int
    num_categories: int | None  # None: numerical during propagation
    column: str | None = None
    aggregation: str = "sum"
    source: Source | None = None
    decoder: Decoder | None = None
    noise: BetaNoise | None = None


@dataclass
class LazyQuantizer:
    """Post-hoc categories of a lazily propagated categorical column: thresholds
    are values of k-1 random rows; labels may be permuted and/or reversed."""

    threshold_rows: np.ndarray
    label_map: np.ndarray  # (k,) final label of raw class c


@dataclass
class ParentContribution:
    """Per parent row, the pre-reduced embeddings of its features, per aggregation."""

    fk_column: str
    reduced: dict[str, np.ndarray] = field(default_factory=dict)  # aggregation -> (n_parent, d)


@dataclass
class TableSCM:
    table: Table
    params: SCMParams
    seed: int
    mode: str
    dag: DAG
    nodes: list[Node]
    order: list[int]  # the nodes computed (see feeding_nodes), in topological order
    # the edge weight is folded into each encoder's last layer, which is not clamped,
    # so clip(encoder(x), +-term_clamp) is the method's clip(w * encoder(x), ...)
    edge_encoders: dict[tuple[int, int], Encoder]
    contributions: list[ParentContribution]
    quantizers: dict[str, LazyQuantizer] = field(default_factory=dict)

    @property
    def column_nodes(self) -> dict[str, Node]:
        return {n.column: n for n in self.nodes if n.column is not None}

    def column_categories(self) -> dict[str, int | None]:
        """How children must encode this table's columns (lazy: all numerical)."""
        return {
            name: (node.num_categories if self.mode == "type_eager" else None)
            for name, node in self.column_nodes.items()
        }

    def compute_block(
        self, start: int, stop: int, block: int, fk_values: Mapping[str, np.ndarray]
    ) -> dict[str, np.ndarray]:
        """SCM values of every feature column for rows ``[start, stop)`` (one RNG block).

        Rows are propagated in sub-blocks of ``SUB_BLOCK_ROWS`` so a node's (rows x 32)
        aggregate and noise stay in the CPU cache.
        Sub-block boundaries are fixed within the block, and a node's noise in a
        sub-block comes from a seed of (node, block, sub-block), so no chunk size can
        change a value.
        """
        n = stop - start
        d = self.params.embedding_dim
        table_key = (Draw.SCM, Name(self.table.name))
        sources = {
            v: node.source.values(
                start, stop, stream(self.seed, *table_key, Draw.NODE, v, Draw.ROW_BLOCK, block)
            )
            for v in self.order
            if (node := self.nodes[v]).source is not None
        }
        # inner nodes: one seed per (node, block) for the kernels' noise generator,
        # offset by each sub-block's first row (fixed boundaries, so chunk size
        # cannot matter)
        noise_seeds = {
            v: key_seed(self.seed, *table_key, Draw.NODE, v, Draw.ROW_BLOCK, block)
            for v in self.order
            if v not in sources
        }
        columns = self.column_nodes
        bound = np.float32(self.params.term_clamp)
        out: dict[str, list[np.ndarray]] = {name: [] for name in columns}
        for lo in range(0, n, SUB_BLOCK_ROWS):
            hi = min(lo + SUB_BLOCK_ROWS, n)
            rows = hi - lo
            values: dict[int, np.ndarray] = {}
            distinct: dict[int, Distinct | None] = {}
            for v in self.order:
                node = self.nodes[v]
                if node.source is not None:
                    values[v] = sources[v][lo:hi]
                    continue
                acc = Accumulator(node.aggregation)
                for p in self.dag.parents[v]:
                    encoder = self.edge_encoders[(p, v)]
                    if isinstance(encoder, NumericEncoder):
                        if p not in distinct:
                            distinct[p] = Distinct.of(values[p])
                        acc.add_encoded(encoder, values[p], bound, distinct[p])
                    else:
                        acc.add_encoded(encoder, values[p], bound)
                for contribution in self.contributions:
                    per_parent = contribution.reduced.get(node.aggregation)
                    if per_parent is not None:
                        acc.add_rows(per_parent, fk_values[contribution.fk_column][lo:hi])
                emb = np.empty((rows, d), dtype=np.float32)  # Beta(a, b) / d noise
                noise = node.noise
                _kernels.beta_noise(emb, noise.icdf, noise.inv_a, noise.inv_b, noise_seeds[v] + lo)
                if acc.count:
                    emb += acc.result()
                values[v] = node.decoder(emb)
            for name, node in columns.items():
                out[name].append(values[node.index])
        return {name: np.concatenate(parts) for name, parts in out.items()}


@dataclass
class Distinct:
    """The distinct values of a numeric node in a sub-block, when few enough to pay:
    an encoder (a per-row function) then runs once per distinct value and its
    outputs are looked up per row, which gives the same values bit for bit.
    Saturating activations (sign, clamps, hard* and friends) and clipped sources
    often leave a node with a handful of values; ~20 % of all encoder rows in the
    default configuration repeat an earlier row's input."""

    values: np.ndarray  # (u,) float32, distinct by bit pattern (so 0.0 and -0.0 differ)
    index: np.ndarray  # (rows,) int64: each row's position in ``values``

    @classmethod
    def of(cls, values: np.ndarray) -> Distinct | None:
        """The distinct values of ``values`` (float32), or None if more than
        DISTINCT_FRACTION of them differ (then the kernel stops early)."""
        values = np.ascontiguousarray(values, dtype=np.float32)
        limit = min(int(DISTINCT_FRACTION * len(values)), DISTINCT_MAX)
        unique = np.empty(len(values), dtype=np.float32)
        index = np.empty(len(values), dtype=np.int64)
        count = _kernels.distinct(values, unique, index, limit)
        return None if count < 0 else cls(unique[:count], index)


AGGREGATION_CODES = {name: code for code, name in enumerate(_kernels.AGGREGATIONS)}


class Accumulator:
    """Streaming reduction of (rows, d) terms: sum, max, product or logsumexp.

    Terms are folded in one at a time (in the compiled kernels) instead of being
    stacked, which keeps memory at two arrays whatever a node's in-degree (dense
    causal graphs have nodes with dozens of parents). An encoded term is computed
    and folded tile by tile, so it never exists as a whole array. Products can
    overflow; NaN/inf are mapped to finite values by :meth:`result`.
    """

    def __init__(self, mode: str):
        if mode not in AGGREGATION_CODES:
            raise ValueError(f"unknown aggregation {mode}")
        self.mode = mode
        self._code = AGGREGATION_CODES[mode]
        self.count = 0
        self._acc = np.empty(0, dtype=np.float32)
        self._aux = self._acc  # logsumexp: sum of exp(term - running max)
        self._result: np.ndarray | None = None

    def _fold(self, shape: tuple[int, int], kernel, *args) -> None:
        """Run ``kernel(*args, mode, first, acc, aux)``: the first term allocates the
        aggregate; the count only grows once the kernel has succeeded."""
        if self._result is not None:
            raise RuntimeError("terms added after result()")
        first = self.count == 0
        if first:
            acc = np.empty(shape, dtype=np.float32)
            aux = np.empty(shape, dtype=np.float32) if self.mode == "logsumexp" else acc
        elif self._acc.shape != shape:
            raise ValueError(f"term of shape {shape} does not match {self._acc.shape}")
        else:
            acc, aux = self._acc, self._aux
        kernel(*args, self._code, int(first), acc, aux)
        self._acc, self._aux = acc, aux
        self.count += 1

    def add(self, term: np.ndarray, bound: float = np.inf) -> None:
        """Fold ``clip(term, -bound, bound)`` in."""
        term = np.ascontiguousarray(term, dtype=np.float32)
        self._fold(term.shape, _kernels.term_fold, term, bound)

    def add_rows(self, table: np.ndarray, index: np.ndarray, bound: float = np.inf) -> None:
        """Fold ``clip(table[index], -bound, bound)`` in (a row lookup)."""
        index = np.ascontiguousarray(index, dtype=np.int64)
        table = np.ascontiguousarray(table, dtype=np.float32)
        self._fold((len(index), table.shape[1]), _kernels.gather_fold, table, index, bound)

    def add_encoded(
        self,
        encoder: Encoder,
        values: np.ndarray,
        bound: float,
        distinct: Distinct | None = None,
    ) -> None:
        """Fold ``clip(encoder(values), -bound, bound)`` in; ``distinct``, if given,
        holds the distinct ``values`` (of a numeric encoder's input)."""
        if isinstance(encoder, CategoricalEncoder):
            self.add_rows(encoder.table, values, bound)
            return
        if distinct is not None:
            self.add_rows(encoder(distinct.values), distinct.index, bound)
            return
        mlp = encoder.mlp
        x = np.ascontiguousarray(values, dtype=np.float32)
        self._fold((len(x), mlp.out_dim), _kernels.encode_fold, x, *mlp.packed, FINITE, bound)

    def result(self) -> np.ndarray:
        """The aggregate of the terms added so far (no more terms after this)."""
        if self.count == 0:
            raise ValueError("no terms were added")
        if self._result is None:
            _kernels.fold_result(self._code, self._acc, self._aux)
            self._result = self._acc
        return self._result


_NOISE_LEVELS = np.linspace(0.0, 1.0, NOISE_QUANTILES + 1, dtype=np.float32)


@dataclass
class BetaNoise:
    """How the kernels draw a node's Beta(a, b) / dim noise by inverse-CDF sampling:
    ``icdf`` holds the quantiles at NOISE_QUANTILES + 1 evenly spaced levels. Inside
    the table a uniform is interpolated linearly; in the first and last intervals
    the quantile function behaves like u^(1/a) and 1 - (1-u)^(1/b), and is
    interpolated with those powers, which a linear piece misses badly (a
    Kolmogorov-Smirnov distance of 0.0017 with 64 levels, against 0.0045 for 128
    linear levels, for Beta(0.5, 5))."""

    icdf: np.ndarray  # (NOISE_QUANTILES + 1,) float32 quantiles / dim
    inv_a: float
    inv_b: float


def beta_noise_table(a: float, b: float, dim: int) -> BetaNoise:
    """The noise table of Beta(a, b) / dim (quantiles by scipy in float32: 3x faster
    than float64 and within 1e-7 of it)."""
    quantiles = special.betaincinv(np.float32(a), np.float32(b), _NOISE_LEVELS)
    return BetaNoise((quantiles / np.float32(dim)).astype(np.float32), 1.0 / a, 1.0 / b)


def plan_scm(
    table: Table,
    parents: Mapping[str, ParentFeatures],
    scm: SCMParams,
    graph: GraphParams,
    seed: int,
    links: Sequence[tuple[str, str]] | None = None,
) -> TableSCM:
    """Draw every random structure of a table's SCM (graph, node types, MLPs,
    sources) from the table's own streams. ``links`` are the (link key, parent table)
    pairs whose parent rows feed the table (default: every one-column foreign key,
    keyed by its column); ``compute_block`` receives their parent rows by key."""
    rng = stream(seed, Draw.SCM, Name(table.name), Draw.PLAN)
    # MLP weights, in bulk
    pool = RandomPool(stream(seed, Draw.SCM, Name(table.name), Draw.WEIGHTS))
    mode = draw_choice(rng, scm.propagation_modes)
    columns = table.scm_columns
    n_features = len(columns)
    ratio = draw_float(rng, scm.column_node_ratio)
    num_nodes = n_features + int(np.ceil(n_features / ratio)) + 3
    dag = sample_dag(draw_choice(rng, scm.layouts), num_nodes, graph, rng)
    column_nodes = rng.choice(num_nodes, size=n_features, replace=False)
    node_column = {int(node): col for node, col in zip(column_nodes, columns, strict=True)}
    in_degree = dag.in_degree()
    activity = table.kind == "activity"
    order = dag.topological_order()
    computed = feeding_nodes(dag, order, node_column)
    nodes = []
    for v in range(num_nodes):
        col = node_column.get(v)
        if col is not None:
            k = col.num_categories if col.scm_type == "categorical" else None
        elif draw_choice(rng, scm.hidden_node_types) == "categorical":
            k = draw_int(rng, scm.hidden_num_categories)
        else:
            k = None
        prop_k = k if mode == "type_eager" else None
        node = Node(index=v, num_categories=k, column=col.name if col else None)
        node.aggregation = draw_choice(rng, scm.aggregations)
        if in_degree[v] == 0:
            node.source = sample_source(scm, prop_k, table.num_rows, activity, rng)
        else:
            a = draw_float(rng, scm.node_noise_a)
            b = draw_float(rng, scm.node_noise_b)
            if v in computed:
                node.noise = beta_noise_table(a, b, scm.embedding_dim)
        nodes.append(node)
    # decoders, encoders and noise only for the nodes that are computed, and the
    # edges into them (see feeding_nodes)
    inner = [node for node in nodes if node.source is None and node.index in computed]
    eager = mode == "type_eager"
    decoders = sample_decoders(scm, [n.num_categories if eager else None for n in inner], pool)
    for node, decoder in zip(inner, decoders, strict=True):
        node.decoder = decoder
    used = [i for i, child in enumerate(dag.edges[:, 1].tolist()) if child in computed]
    edges = [tuple(e) for e in dag.edges[used].tolist()]
    weights = dag.weights[used]
    # the edge weight scales each encoder's last layer
    encoders = sample_encoders(
        scm,
        [nodes[p].num_categories if eager else None for p, _ in edges],
        pool,
        output_scales=weights.astype(np.float32),
    )
    edge_encoders = dict(zip(edges, encoders, strict=True))
    needed = {nodes[v].aggregation for v in computed if in_degree[v] > 0}
    if links is None:
        links = [(fk.column, fk.parent) for fk in table.foreign_keys]
    contributions = [
        _parent_contribution(table, key, parent, parents[parent], needed, scm, seed)
        for key, parent in links
    ]
    quantizers = {}
    if mode == "type_lazy":
        for node in nodes:
            if node.column is not None and node.num_categories is not None:
                q_rng = stream(seed, Draw.SCM, Name(table.name), Draw.QUANTIZE, Name(node.column))
                quantizers[node.column] = _sample_quantizer(
                    node.num_categories, table.num_rows, scm, q_rng
                )
    return TableSCM(
        table=table,
        params=scm,
        seed=seed,
        mode=mode,
        dag=dag,
        nodes=nodes,
        order=[v for v in order if v in computed],
        edge_encoders=edge_encoders,
        contributions=contributions,
        quantizers=quantizers,
    )


def feeding_nodes(dag: DAG, order: list[int], column_nodes: Mapping[int, object]) -> set[int]:
    """The nodes some feature column depends on: the column nodes and their ancestors.

    Only these are computed, and only they get decoders, noise tables and encoders on
    their in-edges. Every other node (a hidden node with no path to a column) could
    not change an output value; ~20 % of the inner-node rows and ~18 % of the
    edge-rows of the default configuration feed no column."""
    feeding = set(column_nodes)
    parents = dag.parents
    for v in reversed(order):
        if v in feeding:
            feeding.update(parents[v])
    return feeding


def _parent_contribution(
    table: Table,
    fk_column: str,
    parent: str,
    features: ParentFeatures,
    aggregations: set[str],
    scm: SCMParams,
    seed: int,
) -> ParentContribution:
    clamp = np.float32(scm.term_clamp)
    count = max(len(features.columns), 1)
    pool = RandomPool(
        stream(seed, Draw.SCM, Name(table.name), Draw.PARENT_ENCODERS, Name(fk_column))
    )
    names = list(features.columns)
    encoders = sample_encoders(scm, [features.num_categories[n] for n in names], pool)
    embedded = [_encode(enc, features.columns[n]) for n, enc in zip(names, encoders, strict=True)]
    contribution = ParentContribution(fk_column)
    if not embedded:
        return contribution
    for agg in sorted(aggregations):
        acc = Accumulator(agg)
        for e in embedded:  # terms are clamped as they are folded in
            acc.add(e * np.float32(1.0 / count) if agg == "sum" else e, bound=clamp)
        contribution.reduced[agg] = acc.result()
    return contribution


def _encode(encoder: Encoder, values: np.ndarray) -> np.ndarray:
    """``encoder(values)``, through the distinct values when they are few."""
    if isinstance(encoder, NumericEncoder) and (distinct := Distinct.of(values)) is not None:
        return encoder(distinct.values)[distinct.index]
    return encoder(values)


def _sample_quantizer(
    k: int, num_rows: int, scm: SCMParams, rng: np.random.Generator
) -> LazyQuantizer:
    rows = rng.integers(0, num_rows, size=k - 1)
    label_map = np.arange(k)
    if rng.random() < draw_float(rng, scm.label_permute_prob):
        label_map = rng.permutation(k)
    if rng.random() < draw_float(rng, scm.label_reverse_prob):
        label_map = k - 1 - label_map
    return LazyQuantizer(rows, label_map.astype(np.int64))


def quantize(values: np.ndarray, thresholds: np.ndarray, quantizer: LazyQuantizer) -> np.ndarray:
    """Raw lazy values -> category labels: the number of thresholds exceeded, mapped."""
    raw = (values[:, None] > thresholds[None, :]).sum(axis=1)
    return quantizer.label_map[raw]
