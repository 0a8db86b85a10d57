"""Speed of the compiled SCM kernels on their own: every activation and a 32 x 32 layer.

    taskset -c 1 python benchmarks/bench_kernels.py [--kernels baseline]
    PYTHONPATH=OTHER_CHECKOUT taskset -c 1 python benchmarks/bench_kernels.py

Times each activation on a (2048 x 32) float32 tile (the size the MLPs run on) and
MLP layers of width 32 with the identity activation, best of many repeats, in
nanoseconds (the virtual machines here expose no cycle counter, and their clock
boosts, so cycles would be a guess). ``--kernels baseline`` times the baseline
build instead of the one chosen at import. The first line names the build and the
compiler of the extension that was imported: with PYTHONPATH set to another checkout
(e.g. one whose extension clang compiled), that checkout's.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time
from collections.abc import Callable
from functools import partial
from typing import TypeVar

import numpy as np

from plurel_sql.config import SCMParams
from plurel_sql.generator import _kernels
from plurel_sql.generator.activations import make_activation
from plurel_sql.generator.mlp import sample_mlps
from plurel_sql.generator.pool import RandomPool

ROWS, WIDTH = 2048, 32
T = TypeVar("T")


def best_seconds(run: Callable[[T], object], prepare: Callable[[], T], repeats: int) -> float:
    """The best time of ``run(prepare())`` over ``repeats``, ``prepare`` untimed."""
    best = float("inf")
    for _ in range(repeats):
        argument = prepare()
        start = time.perf_counter()
        run(argument)
        best = min(best, time.perf_counter() - start)
    return best


def _activate(code: int, params: np.ndarray, x: np.ndarray) -> None:
    _kernels.activate(code, x, params)


def activation_nanoseconds(repeats: int) -> dict[str, float]:
    """Nanoseconds per 8 values of every activation, on inputs ~ N(0, 3^2) (a fresh
    copy each repeat: activations work in place)."""
    pool = RandomPool(np.random.default_rng(0))
    tile = (np.random.default_rng(1).standard_normal((ROWS, WIDTH)) * 3).astype(np.float32)
    vectors = ROWS * WIDTH / 8
    out = {}
    for code, name in enumerate(_kernels.ACTIVATIONS):
        activate = partial(_activate, code, make_activation(name, pool).params)
        out[name] = best_seconds(activate, tile.copy, repeats) / vectors * 1e9
    return out


def layer_nanoseconds(layers: int, repeats: int) -> float:
    """Nanoseconds per row and 32 x 32 layer of an identity-activation MLP."""
    params = dataclasses.replace(
        SCMParams(), activations=("identity",), mlp_layers=(layers, layers)
    )
    mlp = sample_mlps(params, [(WIDTH, WIDTH)], RandomPool(np.random.default_rng(2)))[0]
    x = np.random.default_rng(3).standard_normal((ROWS, WIDTH)).astype(np.float32)
    return best_seconds(mlp, lambda: x, repeats) / (ROWS * layers) * 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--kernels", choices=["default", "baseline"], default="default")
    args = parser.parse_args()
    if args.kernels == "baseline":
        _kernels.use_kernels(_kernels.BASELINE)
    build = _kernels.BASELINE if args.kernels == "baseline" else _kernels.DEFAULT
    print(f"kernels: {build}, compiled by {_kernels.COMPILER}")
    times = activation_nanoseconds(args.repeats)
    for name, value in sorted(times.items(), key=lambda item: -item[1]):
        print(f"  {name:14s} {value:8.2f} ns per 8 values")
    print(f"  {'mean':14s} {statistics.mean(times.values()):8.2f}")
    for layers in (2, 4):
        ns = layer_nanoseconds(layers, args.repeats)
        print(f"32 x 32 layer ({layers}-layer MLP): {ns:.1f} ns per row")


if __name__ == "__main__":
    main()
