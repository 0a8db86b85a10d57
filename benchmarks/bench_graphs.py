"""Cost of the graph generators: their share of generation, and networkx's
directed Erdos-Renyi against the vectorized one.

    taskset -c 1 python benchmarks/bench_graphs.py --seeds 0-9
    PYTHONPATH=OTHER_CHECKOUT taskset -c 1 python benchmarks/bench_graphs.py   # another version

Generates the seeds' databases once, recording every graph drawn (table DAGs and
causal graphs: layout and node count), then times drawing all of those graphs again,
best of ``--repeats``, and reports their share of the generation time. Then times, per
node count, networkx's ``gnp_random_graph(directed=True)`` made undirected (how the
reference draws Erdos-Renyi graphs) against ``plurel_sql.graphs.erdos_renyi``, which
draws the same distribution vectorized.
"""

from __future__ import annotations

import argparse
import random
import time
from collections import Counter

import numpy as np


def parse_seeds(text: str) -> list[int]:
    lo, _, hi = text.partition("-")
    return list(range(int(lo), int(hi or lo) + 1))


def best_seconds(run, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def share_of_generation(seeds: list[int], repeats: int) -> None:
    import plurel_sql.generator.scm as scm_module
    import plurel_sql.schema.sample as sample_module
    from plurel_sql.config import default_config
    from plurel_sql.generator.stream import DatabaseGenerator
    from plurel_sql.graphs import sample_dag

    config = default_config()
    calls: list[tuple[str, int]] = []

    def recording(layout, n, params, rng):
        calls.append((layout, n))
        return sample_dag(layout, n, params, rng)

    sample_module.sample_dag = scm_module.sample_dag = recording
    start = time.perf_counter()
    for seed in seeds:
        for _ in DatabaseGenerator(config, seed).batches():
            pass
    generation = time.perf_counter() - start
    sample_module.sample_dag = scm_module.sample_dag = sample_dag

    def draw_all() -> None:
        for i, (layout, n) in enumerate(calls):
            sample_dag(layout, n, config.graph, np.random.default_rng(i))

    graphs = best_seconds(draw_all, repeats)
    sizes = [n for _, n in calls]
    layouts = dict(Counter(layout for layout, _ in calls))
    print(
        f"seeds {seeds[0]}..{seeds[-1]}: {len(calls)} graphs ({layouts}), "
        f"nodes median {int(np.median(sizes))}, max {max(sizes)}"
    )
    print(
        f"drawing them: {graphs * 1e3:.1f} ms (best of {repeats}), generation {generation:.1f} s: "
        f"{graphs / generation * 100:.2f} % of generation"
    )


def erdos_renyi_versus_networkx(repeats: int) -> None:
    import networkx as nx

    from plurel_sql.config import GraphParams
    from plurel_sql.graphs import erdos_renyi

    params = GraphParams(erdos_renyi_p=[0.55, 0.55])
    print("Erdos-Renyi, p = 0.55: networkx directed G(n, p) made undirected vs vectorized")
    rng = np.random.default_rng(0)
    for n in (10, 30, 60, 120, 180):

        def networkx_draw(n: int = n) -> None:
            seed = random.Random(int(rng.integers(2**63)))
            nx.gnp_random_graph(n, 0.55, seed=seed, directed=True).to_undirected()

        def vectorized(n: int = n) -> None:
            erdos_renyi(n, params, rng)

        a = best_seconds(networkx_draw, repeats)
        b = best_seconds(vectorized, repeats)
        print(f"  n = {n:>3}: networkx {a * 1e3:7.2f} ms, vectorized {b * 1e3:6.3f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0-9")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    share_of_generation(parse_seeds(args.seeds), args.repeats)
    erdos_renyi_versus_networkx(args.repeats)


if __name__ == "__main__":
    main()
