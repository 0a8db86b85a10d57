"""Stage 3 building blocks: activations, MLPs, aggregation, sources, the table SCM."""

from __future__ import annotations

import numpy as np
import pytest

from plurel_sql.config import ACTIVATIONS, AGGREGATIONS, INITIALIZERS, SCMParams, default_config
from plurel_sql.generator import _kernels
from plurel_sql.generator.activations import make_activation
from plurel_sql.generator.mlp import NumericEncoder, sample_matrices, sample_mlps
from plurel_sql.generator.pool import RandomPool
from plurel_sql.generator.scm import (
    DISTINCT_FRACTION,
    Accumulator,
    Distinct,
    feeding_nodes,
    plan_scm,
)
from plurel_sql.generator.sources import TimeSeriesSource, sample_source
from plurel_sql.graphs import DAG
from plurel_sql.schema.ir import simple_table, value_column

TORCH_EQUIVALENT = {
    "relu": "relu",
    "elu": "elu",
    "selu": "selu",
    "silu": "silu",
    "softsign": "softsign",
    "sigmoid": "sigmoid",
    "hardswish": "hardswish",
    "mish": "mish",
    "leaky_relu": "leaky_relu",
    "gelu": "gelu",
    "softplus": "softplus",
    "hardsigmoid": "hardsigmoid",
    "hardtanh": "hardtanh",
    "celu": "celu",
    "tanhshrink": "tanhshrink",
    "logsigmoid": "logsigmoid",
    "softshrink": "softshrink",
    "hardshrink": "hardshrink",
}


@pytest.mark.parametrize("name", sorted(TORCH_EQUIVALENT))
def test_activations_match_torch(name: str) -> None:
    torch = pytest.importorskip("torch")
    x = np.linspace(-40, 40, 20001, dtype=np.float32)
    ours = make_activation(name, RandomPool(np.random.default_rng(0)))(x)
    theirs = getattr(torch.nn.functional, TORCH_EQUIVALENT[name])(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(ours, theirs, atol=2e-6, rtol=1e-5)


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_every_activation_is_finite_on_clamped_inputs(name: str) -> None:
    x = np.concatenate([np.linspace(-1e6, 1e6, 1001), np.linspace(-5, 5, 1001)]).astype(np.float32)
    y = make_activation(name, RandomPool(np.random.default_rng(1)))(x)
    assert y.shape == x.shape and y.dtype == np.float32
    assert np.isfinite(y).all()


@pytest.mark.parametrize("name", INITIALIZERS)
def test_initializers(name: str) -> None:
    params = SCMParams(initializers=[name])
    shapes = [(32, 32), (1, 32), (32, 1), (7, 32), (32, 32)]
    for w, shape in zip(
        sample_matrices(params, shapes, RandomPool(np.random.default_rng(2)), masked=False),
        shapes,
        strict=True,
    ):
        assert w.shape == shape and w.dtype == np.float32 and np.isfinite(w).all()
        if name == "sparse":
            assert ((w == 0).sum(axis=0) == int(np.ceil(shape[0] / 2))).all()
        if name == "trunc_normal":
            assert np.abs(w).max() <= 2.0
        if name == "kaiming_normal" and shape == (32, 32):
            assert 0.15 < w.std() < 0.35  # sqrt(2 / 32) = 0.25


@pytest.mark.parametrize("name", ["kaiming_normal", "kaiming_uniform"])
def test_kaiming_fan_in_is_the_column_count_as_in_torch(name: str) -> None:
    """The reference initializes its (in, out) matrices, used as ``x @ W``, and its
    (k, d) embedding tables with torch's initializers, which take a 2-D tensor's
    fan-in from its second dimension: an encoder's first (1 x 32) matrix gets
    std sqrt(2 / 32), a decoder's last (32 x 1) one std sqrt(2), a (7 x 32) table
    sqrt(2 / 32). Before 0.6.0 the fan-in was the row count (the other way round)."""
    params = SCMParams(initializers=[name])
    shapes = [(1, 32)] * 400 + [(32, 1)] * 400 + [(7, 32)] * 60
    pool = RandomPool(np.random.default_rng(5))
    mats = sample_matrices(params, shapes, pool, masked=False)
    expected = {(1, 32): np.sqrt(2 / 32), (32, 1): np.sqrt(2.0), (7, 32): np.sqrt(2 / 32)}
    torch = pytest.importorskip("torch")
    for shape, sd in expected.items():
        drawn = np.concatenate([m.ravel() for m in mats if m.shape == shape])
        assert abs(drawn.std() / sd - 1) < 0.05, (shape, drawn.std(), sd)
        # torch's own initializer on the same shape agrees
        theirs = torch.empty(400, *shape)
        for t in theirs:
            getattr(torch.nn.init, name + "_")(t)
        assert abs(float(theirs.std()) / sd - 1) < 0.05


def test_mlp_masks_layers_and_clamps() -> None:
    params = SCMParams(mlp_layers=[3, 3], weight_density=[0.5, 0.5])
    mlp = sample_mlps(params, [(1, 32)], RandomPool(np.random.default_rng(3)))[0]
    assert [w.shape for w in mlp.weights] == [(1, 32), (32, 32), (32, 32)]
    assert len(mlp.activations) == 2
    zero_share = np.mean([(w == 0).mean() for w in mlp.weights[1:]])
    assert 0.35 < zero_share < 0.75  # Bernoulli(0.5) mask
    out = mlp(np.array([[1e30], [-1e30], [np.inf], [0.0]], dtype=np.float32))
    assert np.isfinite(out).all()


def test_last_layer_outputs_are_not_clamped() -> None:
    """As in the reference, the clamp applies to hidden layers' outputs only: with
    hidden values at the clamp, the last layer's sums go beyond it."""
    params = SCMParams(mlp_layers=[2, 2], activations=["identity"])
    mlps = sample_mlps(params, [(1, 32)] * 20, RandomPool(np.random.default_rng(4)))
    x = np.array([[1e7], [-1e7]], dtype=np.float32)
    largest = max(float(np.abs(mlp(x)).max()) for mlp in mlps)
    assert 1.5e6 < largest < 1e9  # the hidden clamp is 1e6 x (scale folded into the last layer)


@pytest.mark.parametrize("scale", [-1.0, 1.0])
def test_activity_trend_follows_the_sign_of_its_scale(scale: float) -> None:
    """The trend is bounded from above only (as in the reference): with a negative
    scale it falls below the range's low end instead of being held at it."""
    params = SCMParams(activity_trend_scales=[scale], ts_ar_rho=[0, 0])
    n = 2000
    for seed in range(20):
        source = TimeSeriesSource.sample(params, n, True, np.random.default_rng(seed))
        source.noise_scale = source.cycle_scale = 0.0  # both parts are then clip(0) = lo
        values = source.values(0, n, np.random.default_rng(0)).astype(np.float64)
        trend = 3 * values - 2 * source.lo
        tol = 1e-5 * max(1.0, source.hi)  # float32 output
        end = min(source.lo + scale * ((n - 1) / n) ** source.alpha, source.hi)
        assert trend[-1] == pytest.approx(end, abs=tol)
        if scale < 0:
            assert (np.diff(trend) <= tol).all() and trend[-1] < source.lo - 0.9


def test_time_series_blocks_equal_one_pass() -> None:
    """The AR(1) state carries across blocks: two halves == one pass."""
    params = SCMParams()
    a = TimeSeriesSource.sample(params, 1000, True, np.random.default_rng(6))
    b = TimeSeriesSource.sample(params, 1000, True, np.random.default_rng(6))
    whole = a.values(0, 1000, np.random.default_rng(7))
    noise = np.random.default_rng(7)
    halves = np.concatenate([b.values(0, 500, noise), b.values(500, 1000, noise)])
    np.testing.assert_allclose(whole, halves, rtol=1e-6)


@pytest.mark.parametrize("kind", ["ts", "uniform", "gaussian", "beta", "mixed"])
def test_numeric_sources_stay_in_range(kind: str) -> None:
    params = SCMParams(sources=[kind])
    for seed in range(20):
        source = sample_source(params, None, 500, seed % 2 == 0, np.random.default_rng(seed))
        values = source.values(0, 500, np.random.default_rng(seed + 100))
        assert values.shape == (500,) and np.isfinite(values).all()
        if kind in ("uniform", "gaussian", "beta"):
            assert values.min() >= source.lo - 1e-4 and values.max() <= source.hi + 1e-4


@pytest.mark.parametrize("kind", ["ts", "uniform"])
def test_categorical_sources_give_valid_categories(kind: str) -> None:
    params = SCMParams(sources=[kind])
    source = sample_source(params, 5, 300, True, np.random.default_rng(8))
    values = source.values(0, 300, np.random.default_rng(9))
    assert values.min() >= 0 and values.max() < 5


@pytest.mark.parametrize("mode", ["type_eager", "type_lazy"])
def test_table_scm_outputs_typed_columns(mode: str) -> None:
    cfg = default_config().override(scm={"propagation_modes": [mode]})
    table = simple_table(
        name="t",
        kind="activity",
        num_rows=300,
        primary_key="row_idx",
        features=[
            value_column("feature_0", "numeric"),
            value_column("feature_1", "boolean", num_categories=4),
            value_column("feature_2", "categorical", labels=["a", "b", "c"], num_categories=3),
        ],
        time_column="date",
    )
    for seed in range(5):
        scm = plan_scm(table, {}, cfg.scm, cfg.graph, seed)
        assert scm.mode == mode
        out = scm.compute_block(0, 300, 0, {})
        assert set(out) == {"feature_0", "feature_1", "feature_2"}
        assert out["feature_0"].dtype == np.float32 and np.isfinite(out["feature_0"]).all()
        if mode == "type_eager":
            assert out["feature_1"].min() >= 0 and out["feature_1"].max() < 4
            assert out["feature_2"].min() >= 0 and out["feature_2"].max() < 3
        else:
            assert set(scm.quantizers) == {"feature_1", "feature_2"}


def test_feeding_nodes_are_the_columns_and_their_ancestors() -> None:
    # 0 -> 1 -> 3, 2 -> 3, 1 -> 4, 4 -> 5: a column on 3 needs 0, 1, 2; 4 and 5 feed nothing
    dag = DAG(6, np.array([[0, 1], [1, 3], [2, 3], [1, 4], [4, 5]]), np.ones(5))
    assert feeding_nodes(dag, dag.topological_order(), {3: "c"}) == {0, 1, 2, 3}
    assert feeding_nodes(dag, dag.topological_order(), {3: "c", 4: "d"}) == {0, 1, 2, 3, 4}


def _ancestors_or_self(edges: np.ndarray, nodes: list[int]) -> set[int]:
    """The nodes with a path to one of ``nodes`` (and those), by search along the
    reversed edges."""
    into: dict[int, list[int]] = {}
    for parent, child in edges.tolist():
        into.setdefault(child, []).append(parent)
    seen, stack = set(nodes), list(nodes)
    while stack:
        for parent in into.get(stack.pop(), []):
            if parent not in seen:
                seen.add(parent)
                stack.append(parent)
    return seen


@pytest.mark.parametrize("mode", ["type_eager", "type_lazy"])
def test_only_nodes_feeding_a_column_are_planned_and_computed(mode: str) -> None:
    cfg = default_config().override(scm={"propagation_modes": [mode]})
    table = simple_table(
        name="t",
        kind="entity",
        num_rows=500,
        primary_key="row_idx",
        features=[value_column(f"feature_{i}", "numeric") for i in range(4)],
    )
    skipped = 0
    for seed in range(8):
        scm = plan_scm(table, {}, cfg.scm, cfg.graph, seed)
        computed = set(scm.order)
        columns = [node.index for node in scm.column_nodes.values()]
        assert computed == _ancestors_or_self(scm.dag.edges, columns)
        assert set(scm.edge_encoders) == {(p, v) for v in computed for p in scm.dag.parents[v]}
        for node in scm.nodes:
            planned = node.source is not None or node.decoder is not None
            assert planned == (node.index in computed or node.source is not None)
            assert (node.noise is not None) == (node.decoder is not None)
        skipped += scm.dag.num_nodes - len(computed)
        out = scm.compute_block(0, 500, 0, {})
        assert all(np.isfinite(values).all() for values in out.values())
    assert skipped > 0  # the seeds cover skipped nodes


@pytest.mark.parametrize("rho", [0.0, 0.05, 0.5, 0.9])
def test_ar1_scan_matches_the_recurrence(rho: float) -> None:
    from plurel_sql.generator.sources import ar1

    shocks = np.random.default_rng(11).standard_normal(3000)
    expected = np.empty_like(shocks)
    state = 0.7
    for t, e in enumerate(shocks):
        state = rho * state + e
        expected[t] = state
    np.testing.assert_allclose(ar1(shocks, rho, 0.7), expected, rtol=1e-9, atol=1e-9)


def test_distinct_values_are_exact_and_only_taken_when_few() -> None:
    rng = np.random.default_rng(3)
    spread = rng.normal(0, 1, 400).astype(np.float32)
    assert Distinct.of(spread) is None  # all distinct: encoding each row is cheaper
    few = rng.choice(np.array([0.0, -0.0, 1.5, -2.25], dtype=np.float32), 400)
    distinct = Distinct.of(few)
    assert distinct is not None and len(distinct.values) == 4  # 0.0 and -0.0 differ
    assert np.array_equal(distinct.values[distinct.index].view(np.uint32), few.view(np.uint32))
    with pytest.raises(ValueError, match="room"):
        _kernels.distinct(few, np.empty(3, np.float32), np.empty(400, np.int64), 4)
    # a fraction just above the limit is refused
    many = np.concatenate([spread[: int(DISTINCT_FRACTION * 400) + 1], np.zeros(99, np.float32)])
    assert Distinct.of(many) is None


@pytest.mark.parametrize("mode", AGGREGATIONS)
def test_encoding_distinct_values_gives_the_same_bits(mode: str) -> None:
    rng = np.random.default_rng(4)
    pool = RandomPool(np.random.default_rng(5))
    encoders = [NumericEncoder(m) for m in sample_mlps(SCMParams(), [(1, 32)] * 12, pool)]
    values = rng.choice(rng.normal(0, 3, 9).astype(np.float32), 1000)
    distinct = Distinct.of(values)
    assert distinct is not None
    per_row, through_distinct = Accumulator(mode), Accumulator(mode)
    for enc in encoders:
        per_row.add_encoded(enc, values, np.float32(30.0))
        through_distinct.add_encoded(enc, values, np.float32(30.0), distinct)
    assert np.array_equal(
        per_row.result().view(np.uint32), through_distinct.result().view(np.uint32)
    )
