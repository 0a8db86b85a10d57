"""The compiled SCM kernels (plurel_sql/generator/_kernels*.c): activations against
numpy/torch, MLPs and aggregation against a float64 numpy reference, and the AVX2 +
FMA and baseline builds against each other, bit for bit."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TypeVar

import numpy as np
import pytest
from generator_helpers import small_config
from kernel_harness.builds import (
    Target,
    build_extension,
    build_replay,
    digests_of_extension,
    replay,
    replay_targets,
)
from kernel_harness.recording import KernelRecorder
from kernel_harness.workloads import (
    build_digests,
    database_checksums,
    every_kernel_outputs,
    same_values,
    special_value_outputs,
)
from scipy import special, stats

from plurel_sql.config import ACTIVATIONS, AGGREGATIONS, INITIALIZERS, SCMParams
from plurel_sql.generator import _kernels, kernel_build
from plurel_sql.generator.activations import make_activation
from plurel_sql.generator.kernel_build import slow_build_message
from plurel_sql.generator.mlp import MLP, NumericEncoder, sample_mlps
from plurel_sql.generator.pool import RandomPool
from plurel_sql.generator.scm import Accumulator, beta_noise_table
from plurel_sql.generator.stream import DatabaseGenerator

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
    """The MLP in float64 numpy: x @ W per layer; after each hidden layer its
    activation, clamped to the layer's output clamp (activation_clamp / the layer's
    scale, which is folded into the next matrix); the last layer unclamped."""
    h = x.astype(np.float64)
    for j, w in enumerate(mlp.weights):
        h = h @ w.astype(np.float64)
        if j < len(mlp.activations):
            c = mlp.output_clamps[j]
            h = np.clip(mlp.activations[j](h.astype(np.float32)), -c, c).astype(np.float64)
    return h


@pytest.mark.parametrize("dims", [(1, 32), (32, 32), (32, 1), (5, 7), (32, 3)])
def test_mlp_matches_a_numpy_reference(dims: tuple[int, int]) -> None:
    params = SCMParams()
    mlps = sample_mlps(params, [dims] * 40, RandomPool(np.random.default_rng(6)))
    x = np.random.default_rng(7).normal(0, 2, (77, dims[0])).astype(np.float32)
    for mlp in mlps:
        np.testing.assert_allclose(mlp(x), _reference_mlp(mlp, x), rtol=2e-3, atol=2e-3)


@pytest.mark.parametrize("layers", [2, 4])
def test_mlp_clamps_hidden_activations_as_the_reference(layers: int) -> None:
    """Inputs large enough that hidden values reach their clamp, through activations
    that do not amplify rounding differences (sines of 1e5 would)."""
    smooth = ["identity", "relu", "abs", "leaky_relu", "softplus", "tanh", "selu"]
    params = SCMParams(mlp_layers=[layers, layers], activations=smooth)
    mlps = sample_mlps(params, [(32, 32), (32, 1)] * 30, RandomPool(np.random.default_rng(8)))
    x = (np.random.default_rng(0).standard_cauchy((200, 32)) * 1e4).astype(np.float32)
    clamped = 0
    for mlp in mlps:
        c = mlp.output_clamps
        assert ((c >= 1e6 / np.e * (1 - 1e-6)) & (c <= 1e6 * np.e * (1 + 1e-6))).all()
        expected = _reference_mlp(mlp, x)
        np.testing.assert_allclose(mlp(x), expected, rtol=1e-3, atol=1e-4 * np.abs(expected).max())
        hidden = mlp.activations[0](x.astype(np.float64) @ mlp.weights[0])
        clamped += int((np.abs(hidden) > c[0]).sum())
    assert clamped > 0


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


def _under_baseline(run: Callable[[], T]) -> T:
    if _kernels.DEFAULT == _kernels.BASELINE:
        pytest.skip(f"only the {_kernels.BASELINE} build runs on this machine")
    previous = _kernels.use_kernels(_kernels.BASELINE)
    try:
        return run()
    finally:
        _kernels.use_kernels(previous)


def test_avx2_fma_and_baseline_builds_are_bit_identical() -> None:
    baseline = _under_baseline(lambda: every_kernel_outputs(12))
    best = every_kernel_outputs(12)
    assert len(best) == len(baseline)
    for a, b in zip(best, baseline, strict=True):
        assert a.tobytes() == b.tobytes()


def test_builds_agree_on_special_values() -> None:
    """Zeros, subnormals, range edges, infinities: the same bits; NaNs: NaN."""
    baseline = _under_baseline(special_value_outputs)
    best = special_value_outputs()
    assert len(best) == len(baseline)
    for a, b in zip(best, baseline, strict=True):
        assert same_values(a, b)


def test_same_values_tells_nans_apart_only_from_numbers() -> None:
    a = np.array([1.0, np.nan, -0.0], np.float32)
    assert same_values(a, np.array([1.0, -np.nan, -0.0], np.float32))
    assert not same_values(a, np.array([1.0, np.nan, 0.0], np.float32))
    assert not same_values(a, np.array([1.0, 2.0, -0.0], np.float32))


def test_both_builds_generate_the_same_database() -> None:
    # the baseline build fuses its multiply-adds with libm's fmaf, the other with the
    # instruction: whole databases must come out the same
    for seed in (0, 1):
        checksums = partial(database_checksums, "small", seed)
        assert checksums() == _under_baseline(checksums)


def _fused_layer(x0: float, x1: float, w1: float) -> np.float32:
    """Output 0 of a one-layer MLP (2 -> 32, weights [1, w1] into output 0) on the row
    (x0, x1): fma(x1, w1, fma(x0, 1, 0)) = fma(x1, w1, x0), by the 32-wide path."""
    bank = np.zeros(2 * 32, dtype=np.float32)
    bank[0], bank[32] = 1.0, w1
    meta = np.array([1, 2, 32, 0], dtype=np.int32)  # layers, dims, matrix offset
    mlp = MLP((bank, meta, np.zeros(1, dtype=np.float32)))
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
    # layers, dims, activation, its parameters' offset (after its output clamp), matrices
    sines_meta = np.array([2, 1, 32, 32, sines, 1, 0, 32], dtype=np.int32)
    bank2 = np.zeros(32 + 1024, dtype=np.float32)
    with pytest.raises(ValueError, match="random_sines"):  # 5 sines, no parameters
        _kernels.encode_fold(
            x, bank2, sines_meta, np.array([1e6, 5.0], np.float32), 1e6, 1e4, 0, 1, acc, acc
        )
    no_clamp = sines_meta.copy()
    no_clamp[5] = 0  # offset 0 leaves no room for the output clamp before it
    with pytest.raises(ValueError, match="offset out of range"):
        _kernels.encode_fold(
            x, bank2, no_clamp, np.array([0.0, 0.0], np.float32), 1e6, 1e4, 0, 1, acc, acc
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


def test_the_warning_names_the_cause_per_platform() -> None:
    assert slow_build_message("avx2-fma", "x86_64", True) is None
    assert "lacks AVX2" in (slow_build_message("baseline", "x86_64", True) or "")
    assert "need GCC or clang" in (slow_build_message("baseline", "AMD64", False) or "")
    assert slow_build_message("neon", "aarch64", False) is None
    assert slow_build_message("neon", "arm64", False) is None  # macOS spells it so
    assert "not been tested on riscv64" in (slow_build_message("baseline", "riscv64", False) or "")


def test_the_generator_warns_once_when_the_slow_build_runs(monkeypatch) -> None:
    monkeypatch.setattr(_kernels, "DEFAULT", "baseline")
    monkeypatch.setattr(kernel_build.platform, "machine", lambda: "x86_64")
    monkeypatch.setattr(kernel_build, "_warned", False)
    with pytest.warns(RuntimeWarning, match="baseline kernels"):
        DatabaseGenerator(small_config(), 0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        DatabaseGenerator(small_config(), 1)  # once per process


# ------------------------------------------------ other compilers and architectures

TARGETS = replay_targets(_kernels.DEFAULT == "avx2-fma")
_replay_binaries: dict[str, Path] = {}


@pytest.fixture(scope="session")
def recording(tmp_path_factory) -> tuple[Path, KernelRecorder]:
    """Every kernel call of every_kernel_outputs, special_value_outputs and two small
    databases, recorded from this process's default build."""
    with KernelRecorder() as recorder:
        every_kernel_outputs(12)
        special_value_outputs()
        for seed in (0, 1):
            database_checksums("small", seed)
    path = tmp_path_factory.mktemp("kernels") / "calls.plkr"
    recorder.write(path)
    return path, recorder


def _replay_binary(target: Target, tmp_path_factory) -> Path:
    """The harness built for ``target``, once per session."""
    if target.name not in _replay_binaries:
        out = tmp_path_factory.mktemp("replay")
        _replay_binaries[target.name] = build_replay(target, out)
    return _replay_binaries[target.name]


def test_the_recording_calls_every_kernel(recording) -> None:
    _, recorder = recording
    assert all(count > 0 for count in recorder.calls().values()), recorder.calls()


@pytest.mark.slow
@pytest.mark.parametrize("target", TARGETS, ids=[t.name for t in TARGETS])
def test_every_build_replays_the_recorded_calls_bit_for_bit(
    target: Target, recording, tmp_path_factory
) -> None:
    """The harness, built by this compiler for this target (AArch64 under qemu-user),
    reproduces every recorded kernel output (NaN bits aside, see replay.c)."""
    binary = _replay_binary(target, tmp_path_factory)
    path, recorder = recording
    for build in target.builds:
        report = replay(target, binary, path, build)
        assert f"build {build}: ok" in report, report
        for name, count in recorder.calls().items():
            assert f"{name} {count} calls 0 mismatches" in report, report


@pytest.mark.slow
def test_the_replay_harness_catches_changed_outputs(recording, tmp_path_factory) -> None:
    """One output changed by one ulp, another made NaN: both calls are reported."""
    _, recorder = recording
    broken = KernelRecorder()
    broken.arrays, broken.records = list(recorder.arrays), list(recorder.records)
    changes = {
        "mlp_forward": lambda v: np.nextafter(v, np.float32(np.inf)),
        "beta_noise": lambda v: np.float32(np.nan),
    }
    changed_records = {}
    for name, change in changes.items():
        index = next(i for i in range(len(broken.records)) if broken.kernel(i) == name)
        code, args = broken.records[index]
        after = broken.arrays[args[-1]].copy()
        after[len(after) // 2] = change(after[len(after) // 2])
        broken.arrays.append(after)
        broken.records[index] = (code, [*args[:-1], len(broken.arrays) - 1])
        changed_records[name] = index
    path = tmp_path_factory.mktemp("broken") / "calls.plkr"
    broken.write(path)
    target = TARGETS[0]
    report = replay(target, _replay_binary(target, tmp_path_factory), path, target.builds[0])
    assert f"build {target.builds[0]}: MISMATCH" in report, report
    for name, index in changed_records.items():
        assert f"record {index} {name} out[" in report, report
        assert f"{name} {recorder.calls()[name]} calls 1 mismatches" in report, report


@pytest.mark.slow
def test_the_other_compilers_extension_computes_the_same_values(tmp_path) -> None:
    """The extension built by the other of GCC and clang (setuptools, CC=...) runs the
    same builds at import and gives the same kernel outputs and databases, per build."""
    other = "gcc" if _kernels.COMPILER.startswith("clang") else "clang"
    report = digests_of_extension(build_extension(other, tmp_path))
    assert report["compiler"].startswith(other + " ")
    assert Path(report["file"]).is_relative_to(tmp_path)
    assert report["default"] == _kernels.DEFAULT  # the same dispatch
    assert report["builds"] == build_digests()
