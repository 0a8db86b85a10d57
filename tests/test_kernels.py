"""The compiled SCM kernels (plurel_sql/generate/_kernels*.c): activations against
numpy/torch, MLPs and aggregation against a float64 numpy reference, and the AVX2 +
FMA and baseline builds against each other, bit for bit."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from functools import partial
from typing import TypeVar

import numpy as np
import pytest
from generator_helpers import small_config, table_checksums
from scipy import special, stats

from plurel_sql.config import ACTIVATIONS, AGGREGATIONS, INITIALIZERS, SCMParams
from plurel_sql.generate import _kernels, kernel_build
from plurel_sql.generate.activations import make_activation
from plurel_sql.generate.kernel_build import slow_build_message
from plurel_sql.generate.mlp import MLP, NumericEncoder, sample_mlps
from plurel_sql.generate.pool import RandomPool
from plurel_sql.generate.scm import Accumulator, beta_noise_table
from plurel_sql.generate.stream import DatabaseGenerator

T = TypeVar("T")

# activations without a torch.nn.functional twin (test_scm checks those), in float64
NUMPY_EQUIVALENT = {
    "tanh": np.tanh,
    "sin": np.sin,
    "cos": np.cos,
    "abs": np.abs,
    "sign": np.sign,
    "identity": lambda x: x,
    "clamp": lambda x: np.clip(x, -1, 1),
    "rrelu": lambda x: np.where(x >= 0, x, x * (1 / 8 + 1 / 3) / 2),
    "signed_log1p": lambda x: np.sign(x) * np.log1p(np.abs(x)),
    "bent_identity": lambda x: (np.sqrt(x * x + 1) - 1) / 2 + x,
}


def test_kernel_codes_follow_the_config() -> None:
    assert _kernels.ACTIVATIONS == ACTIVATIONS
    assert _kernels.INITIALIZERS == INITIALIZERS
    assert _kernels.AGGREGATIONS == AGGREGATIONS


@pytest.mark.parametrize("name", sorted(NUMPY_EQUIVALENT))
def test_activations_match_numpy(name: str) -> None:
    x = np.concatenate([np.linspace(-40, 40, 20001), [-1e-30, 0.0, 1e-30]]).astype(np.float32)
    ours = make_activation(name, RandomPool(np.random.default_rng(0)))(x)
    expected = NUMPY_EQUIVALENT[name](x.astype(np.float64))
    np.testing.assert_allclose(ours, expected, atol=2e-6, rtol=1e-5)


def test_sin_and_cos_stay_accurate_for_large_arguments() -> None:
    """The argument reduction runs in double: still accurate at the 1e6 clamp."""
    x = np.random.default_rng(1).uniform(-1e6, 1e6, 10000).astype(np.float32)
    for name, reference in (("sin", np.sin), ("cos", np.cos)):
        ours = make_activation(name, RandomPool(np.random.default_rng(0)))(x)
        np.testing.assert_allclose(ours, reference(x.astype(np.float64)), atol=2e-6)


def test_random_sines_is_the_sum_it_draws() -> None:
    act = make_activation("random_sines", RandomPool(np.random.default_rng(5)))
    count = int(act.params[0])
    assert 3 <= count <= 7
    amplitude, frequency, phase = act.params[1:].reshape(count, 3).T
    assert ((frequency >= 0.1) & (frequency <= 10)).all()
    x = np.linspace(-20, 20, 5001).astype(np.float32)
    expected = sum(
        a * np.sin(np.float32(f) * x.astype(np.float64) + p)
        for a, f, p in zip(amplitude, frequency, phase, strict=True)
    )
    np.testing.assert_allclose(act(x), expected, atol=1e-4)


def _reference_mlp(mlp, x: np.ndarray) -> np.ndarray:
    """The MLP in float64 numpy: clamp(x @ W) per layer, the activation between."""
    h = x.astype(np.float64)
    for j, w in enumerate(mlp.weights):
        h = np.clip(h @ w.astype(np.float64), -mlp.clamp, mlp.clamp)
        if j < len(mlp.activations):
            h = mlp.activations[j](h.astype(np.float32)).astype(np.float64)
    return h


@pytest.mark.parametrize("dims", [(1, 32), (32, 32), (32, 1), (5, 7), (32, 3)])
def test_mlp_matches_a_numpy_reference(dims: tuple[int, int]) -> None:
    params = SCMParams()
    mlps = sample_mlps(params, [dims] * 40, RandomPool(np.random.default_rng(6)))
    x = np.random.default_rng(7).normal(0, 2, (77, dims[0])).astype(np.float32)
    for mlp in mlps:
        np.testing.assert_allclose(mlp(x), _reference_mlp(mlp, x), rtol=2e-3, atol=2e-3)


def _aggregate_reference(terms: list[np.ndarray], mode: str) -> np.ndarray:
    """The aggregation of stacked terms in float64."""
    stacked = np.stack(terms).astype(np.float64)
    if mode == "logsumexp":
        return special.logsumexp(stacked, axis=0)
    return {"sum": stacked.sum, "max": stacked.max, "product": stacked.prod}[mode](0)


@pytest.mark.parametrize("mode", AGGREGATIONS)
def test_streaming_aggregation_matches_stacked(mode: str) -> None:
    rng = np.random.default_rng(4)
    terms = [rng.normal(0, 3, (50, 8)).astype(np.float32) for _ in range(7)]
    # ties with the running value (logsumexp takes another branch on them), signed zeros
    terms += [terms[0].copy(), np.zeros((50, 8), np.float32), np.full((50, 8), -0.0, np.float32)]
    acc = Accumulator(mode)
    for t in terms:
        acc.add(t)
    np.testing.assert_allclose(
        acc.result(), _aggregate_reference(terms, mode), rtol=1e-4, atol=1e-4
    )


@pytest.mark.parametrize("mode", AGGREGATIONS)
def test_encoded_terms_aggregate_like_the_stacked_reference(mode: str) -> None:
    params = SCMParams()
    mlps = sample_mlps(params, [(1, 32)] * 6, RandomPool(np.random.default_rng(8)))
    x = np.random.default_rng(9).normal(0, 1, 101).astype(np.float32)
    bound = np.float32(3.0)
    acc = Accumulator(mode)
    for mlp in mlps:
        acc.add_encoded(NumericEncoder(mlp), x, bound)
    terms = [np.clip(mlp(x[:, None]), -bound, bound) for mlp in mlps]
    np.testing.assert_allclose(
        acc.result(), _aggregate_reference(terms, mode), rtol=1e-4, atol=1e-4
    )


def test_lookup_terms_aggregate_rows_of_the_table() -> None:
    table = np.random.default_rng(10).normal(0, 5, (9, 32)).astype(np.float32)
    index = np.random.default_rng(11).integers(0, 9, 50)
    acc = Accumulator("sum")
    acc.add_rows(table, index, bound=2.0)
    np.testing.assert_array_equal(acc.result(), np.clip(table[index], -2, 2))
    with pytest.raises(IndexError):
        Accumulator("max").add_rows(table, np.array([9]))


@pytest.mark.parametrize("a, b", [(2.0, 5.0), (0.5, 5.0), (5.0, 0.5), (0.5, 0.5), (1.0, 1.0)])
def test_beta_noise_follows_the_beta_distribution(a: float, b: float) -> None:
    table = beta_noise_table(a, b, 32)
    out = np.empty(400_000, dtype=np.float32)
    _kernels.beta_noise(out, table.icdf, table.inv_a, table.inv_b, 7)
    assert stats.kstest(out * 32, stats.beta(a, b).cdf).statistic < 0.004
    assert abs(out.std() * 32 - stats.beta(a, b).std()) < 0.002
    again = np.empty_like(out)
    _kernels.beta_noise(again, table.icdf, table.inv_a, table.inv_b, 7)
    assert out.tobytes() == again.tobytes()
    _kernels.beta_noise(again, table.icdf, table.inv_a, table.inv_b, 8)
    assert out.tobytes() != again.tobytes()


def test_beta_noise_with_one_interval_follows_its_first_power_law() -> None:
    """With a single interval (a 2-entry table) every value is u^(1/a): Beta(a, 1)."""
    out = np.empty(100_003, dtype=np.float32)
    _kernels.beta_noise(out, np.array([0.0, 1.0], dtype=np.float32), 1 / 2.5, 1 / 0.7, 3)
    assert stats.kstest(out, stats.beta(2.5, 1.0).cdf).statistic < 0.01


def test_weight_bank_draws_follow_their_initializers() -> None:
    count = 400
    shapes = np.tile(np.array([[32, 32]], dtype=np.int32), (count, 1))
    offsets = np.arange(count, dtype=np.int64) * 1024
    bank = np.empty(count * 1024, dtype=np.float32)
    ones = np.ones(count, dtype=np.float32)
    for code, name in enumerate(_kernels.INITIALIZERS):
        inits = np.full(count, code, dtype=np.int32)
        _kernels.fill_bank(bank, offsets, shapes, inits, ones, ones, 3)
        if name in ("kaiming_normal", "xavier_normal"):
            sd = np.sqrt(2 / 32) if name == "kaiming_normal" else np.sqrt(2 / 64)
            assert stats.kstest(bank / sd, "norm").statistic < 0.005
        if name == "kaiming_uniform":
            bound = np.sqrt(6 / 32)
            assert stats.kstest(bank, stats.uniform(-bound, 2 * bound).cdf).statistic < 0.005
        if name == "trunc_normal":
            assert stats.kstest(bank, stats.truncnorm(-2, 2).cdf).statistic < 0.005
    density = np.full(count, 0.3, dtype=np.float32)
    inits = np.zeros(count, dtype=np.int32)
    _kernels.fill_bank(bank, offsets, shapes, inits, density, ones * 2, 4)
    assert abs((bank != 0).mean() - 0.3) < 0.005  # Bernoulli(0.3) mask
    assert abs(bank[bank != 0].std() - 2 * np.sqrt(2 / 32) / 0.3) < 0.02  # rescaled


def _run_everything(seed: int) -> list[np.ndarray]:
    """Outputs of every kernel on random inputs: every activation, MLPs of several
    shapes, every aggregation of encoded and looked-up terms, and Beta noise."""
    rng = np.random.default_rng(seed)
    pool = RandomPool(np.random.default_rng(seed + 1))
    outputs = []
    x = rng.normal(0, 3, 1003).astype(np.float32)
    for name in ACTIVATIONS:
        outputs.append(make_activation(name, pool)(x))
    mlps = sample_mlps(SCMParams(), [(1, 32), (32, 32), (32, 1), (7, 5)] * 8, pool)
    for mlp in mlps:
        in_dim = mlp.weights[0].shape[0]
        outputs.append(mlp(rng.normal(0, 2, (45, in_dim)).astype(np.float32)))
    encoders = [NumericEncoder(m) for m in mlps if m.weights[0].shape == (1, 32)]
    table = rng.normal(0, 2, (6, 32)).astype(np.float32)
    for mode in AGGREGATIONS:
        acc = Accumulator(mode)
        for enc in encoders:
            acc.add_encoded(enc, x[:37], np.float32(50.0))
        acc.add_rows(table, rng.integers(0, 6, 37))
        outputs.append(acc.result())
    outputs.append(make_activation("sin", pool)(rng.uniform(-1e6, 1e6, 99).astype(np.float32)))
    for width in (32, 5):  # lookups of vector and odd widths
        acc = Accumulator("logsumexp")
        acc.add_rows(rng.normal(0, 2, (4, width)).astype(np.float32), rng.integers(0, 4, 21))
        outputs.append(acc.result())
    chosen = np.empty(45, dtype=np.int64)
    _kernels.argmax_similarity(rng.normal(0, 1, (45, 32)).astype(np.float32), table, chosen)
    outputs.append(chosen)
    noise = np.empty((37, 32), dtype=np.float32)
    _kernels.beta_noise(noise, np.sort(rng.random(65, dtype=np.float32)), 1.7, 0.3, 99)
    outputs.append(noise)
    for knots in (2, 4):  # one and three intervals: every value in or next to a tail
        odd = np.empty(1001, dtype=np.float32)  # not a whole number of chunks
        _kernels.beta_noise(odd, np.sort(rng.random(knots, dtype=np.float32)), 0.6, 2.2, 7)
        outputs.append(odd)
    return outputs


def _under_baseline(run: Callable[[], T]) -> T:
    if _kernels.DEFAULT != "avx2-fma":
        pytest.skip("this machine has no AVX2 + FMA: only the baseline build runs here")
    previous = _kernels.use_kernels("baseline")
    try:
        return run()
    finally:
        _kernels.use_kernels(previous)


def test_avx2_fma_and_baseline_builds_are_bit_identical() -> None:
    baseline = _under_baseline(lambda: _run_everything(12))
    best = _run_everything(12)
    assert len(best) == len(baseline)
    for a, b in zip(best, baseline, strict=True):
        assert a.tobytes() == b.tobytes()


def test_both_builds_generate_the_same_database() -> None:
    # the baseline build fuses its multiply-adds with libm's fmaf, the other with the
    # instruction: whole databases must come out the same
    for seed in (0, 1):
        checksums = partial(_database_checksums, seed)
        assert checksums() == _under_baseline(checksums)


def _database_checksums(seed: int) -> dict[str, str]:
    return table_checksums(DatabaseGenerator(small_config(), seed))


def _fused_layer(x0: float, x1: float, w1: float) -> np.float32:
    """Output 0 of a one-layer MLP (2 -> 32, weights [1, w1] into output 0) on the row
    (x0, x1): fma(x1, w1, fma(x0, 1, 0)) = fma(x1, w1, x0), by the 32-wide path."""
    bank = np.zeros(2 * 32, dtype=np.float32)
    bank[0], bank[32] = 1.0, w1
    meta = np.array([1, 2, 32, 0], dtype=np.int32)  # layers, dims, matrix offset
    mlp = MLP(1e30, (bank, meta, np.zeros(1, dtype=np.float32)))
    return mlp(np.array([[x0, x1]], dtype=np.float32))[0, 0]


@pytest.mark.parametrize("build", ["default", "baseline"])
def test_multiply_adds_are_rounded_once(build: str) -> None:
    # c + a*b = (1 + 2^-23) + 2^-24 - 2^-70: just below the midpoint between
    # 1 + 2^-23 and 1 + 2^-22, so rounding once gives 1 + 2^-23. Rounding the product
    # first gives 1 + 2^-22, and so does rounding through double (the sum rounds onto
    # the midpoint, which then ties to even).
    a, b, c = 1 + 2.0**-23, 2.0**-24 * (1 - 2.0**-23), 1 + 2.0**-23
    assert np.float32(a) == a and np.float32(b) == b
    if build == "baseline":
        result = _under_baseline(lambda: _fused_layer(c, a, b))
    else:
        result = _fused_layer(c, a, b)
    assert result == np.float32(1 + 2.0**-23)


def test_unknown_kernel_build_is_refused() -> None:
    with pytest.raises(ValueError, match="not available"):
        _kernels.use_kernels("avx512-dreams")


def test_malformed_kernel_arguments_raise_instead_of_crashing() -> None:
    x = np.zeros(4, dtype=np.float32)
    acc = np.zeros((4, 32), dtype=np.float32)
    bank = np.zeros(32, dtype=np.float32)
    params = np.zeros(1, dtype=np.float32)
    good_meta = np.array([1, 1, 32, 0], dtype=np.int32)
    _kernels.encode_fold(x, bank, good_meta, params, 1e6, 1e4, 0, 1, acc, acc)
    with pytest.raises(ValueError, match="meta"):
        _kernels.encode_fold(x, bank, good_meta[:3], params, 1e6, 1e4, 0, 1, acc, acc)
    with pytest.raises(ValueError, match="outside its weights"):
        _kernels.encode_fold(x, bank[:31], good_meta, params, 1e6, 1e4, 0, 1, acc, acc)
    with pytest.raises(ValueError, match="accumulator"):
        _kernels.encode_fold(x, bank, good_meta, params, 1e6, 1e4, 0, 1, acc[:3], acc[:3])
    with pytest.raises(ValueError, match="aggregation"):
        _kernels.encode_fold(x, bank, good_meta, params, 1e6, 1e4, 9, 1, acc, acc)
    with pytest.raises(TypeError, match="float32"):
        _kernels.encode_fold(
            x.astype(np.float64), bank, good_meta, params, 1e6, 1e4, 0, 1, acc, acc
        )
    with pytest.raises(ValueError, match="activation code"):
        _kernels.activate(99, x, params)
    with pytest.raises(ValueError, match="random_sines"):
        _kernels.activate(
            _kernels.ACTIVATIONS.index("random_sines"), x, np.array([5.0], np.float32)
        )
    sines = _kernels.ACTIVATIONS.index("random_sines")
    sines_meta = np.array([2, 1, 32, 32, sines, 0, 0, 32], dtype=np.int32)
    bank2 = np.zeros(32 + 1024, dtype=np.float32)
    with pytest.raises(ValueError, match="random_sines"):  # 5 sines, no parameters
        _kernels.encode_fold(
            x, bank2, sines_meta, np.array([5.0], np.float32), 1e6, 1e4, 0, 1, acc, acc
        )
    with pytest.raises(ValueError, match="random_sines"):
        _kernels.activate(sines, x, np.array([np.nan], np.float32))
    with pytest.raises(ValueError, match="share memory"):
        _kernels.term_fold(acc, 1e4, 0, 1, acc, acc)
    lse = _kernels.AGGREGATIONS.index("logsumexp")
    with pytest.raises(ValueError, match="separate"):
        _kernels.term_fold(acc.copy(), 1e4, lse, 1, acc, acc)
    with pytest.raises(ValueError, match="out of range"):  # offset + size would overflow
        _kernels.fill_bank(
            np.zeros(16, np.float32),
            np.array([2**63 - 4], np.int64),
            np.array([[4, 4]], dtype=np.int32),
            np.zeros(1, np.int32),
            np.ones(1, np.float32),
            np.ones(1, np.float32),
            1,
        )
    with pytest.raises(ValueError, match="out of range"):
        shapes = np.array([[4, 4]], dtype=np.int32)
        _kernels.fill_bank(
            np.zeros(15, np.float32),
            np.zeros(1, np.int64),
            shapes,
            np.zeros(1, np.int32),
            np.ones(1, np.float32),
            np.ones(1, np.float32),
            1,
        )


@pytest.mark.parametrize("d", [32, 7])
def test_argmax_similarity_matches_numpy(d: int) -> None:
    rng = np.random.default_rng(13)
    emb = rng.normal(0, 1, (500, d)).astype(np.float32)
    table = rng.normal(0, 1, (6, d)).astype(np.float32)
    out = np.empty(500, dtype=np.int64)
    _kernels.argmax_similarity(emb, table, out)
    np.testing.assert_array_equal(out, np.argmax(emb.astype(float) @ table.T.astype(float), 1))
    tie = np.zeros((1, d), dtype=np.float32)
    _kernels.argmax_similarity(tie, table, out[:1])
    assert out[0] == 0  # ties go to the first category, like numpy's argmax


def test_the_slow_build_is_named_only_on_x86_64() -> None:
    assert slow_build_message("avx2-fma", "x86_64", True) is None
    assert "lacks AVX2" in (slow_build_message("baseline", "x86_64", True) or "")
    assert "need GCC" in (slow_build_message("baseline", "AMD64", False) or "")
    assert slow_build_message("baseline", "aarch64", False) is None  # fmaf is an instruction


def test_the_generator_warns_once_when_the_slow_build_runs(monkeypatch) -> None:
    monkeypatch.setattr(_kernels, "DEFAULT", "baseline")
    monkeypatch.setattr(kernel_build.platform, "machine", lambda: "x86_64")
    monkeypatch.setattr(kernel_build, "_warned", False)
    with pytest.warns(RuntimeWarning, match="baseline kernels"):
        DatabaseGenerator(small_config(), 0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        DatabaseGenerator(small_config(), 1)  # once per process
