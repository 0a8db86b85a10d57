"""Graph generators: connected DAGs with one finite weight per edge, for every size."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plurel_sql.config import GRAPH_LAYOUTS, GraphParams
from plurel_sql.graphs import GENERATORS, _components, sample_dag


@pytest.mark.parametrize("layout", GRAPH_LAYOUTS)
@settings(max_examples=60, deadline=None)
@given(n=st.integers(min_value=1, max_value=60), seed=st.integers(0, 2**32 - 1))
def test_every_generator_returns_a_connected_dag(layout: str, n: int, seed: int) -> None:
    dag = sample_dag(layout, n, GraphParams(), np.random.default_rng(seed))
    assert dag.num_nodes == n
    assert dag.is_connected()
    order = dag.topological_order()  # raises on a cycle
    assert sorted(order) == list(range(n))
    position = {v: i for i, v in enumerate(order)}
    assert all(position[p] < position[c] for p, c in dag.edges)
    assert len({(int(p), int(c)) for p, c in dag.edges}) == len(dag.edges)  # no duplicates
    assert all(p != c for p, c in dag.edges)
    assert dag.weights.shape == (len(dag.edges),)
    assert np.isfinite(dag.weights).all()


def test_generators_are_deterministic_for_a_generator_state() -> None:
    for layout in GENERATORS:
        a = sample_dag(layout, 25, GraphParams(), np.random.default_rng(7))
        b = sample_dag(layout, 25, GraphParams(), np.random.default_rng(7))
        assert np.array_equal(a.edges, b.edges) and np.array_equal(a.weights, b.weights)


def test_tree_layouts_have_n_minus_one_edges_and_one_root_or_sink() -> None:
    rng = np.random.default_rng(3)
    tree = sample_dag("RandomTree", 30, GraphParams(), rng)
    reverse = sample_dag("ReverseRandomTree", 30, GraphParams(), rng)
    assert len(tree.edges) == len(reverse.edges) == 29
    assert (tree.in_degree() == 0).sum() == 1  # a single root
    assert (reverse.out_degree() == 0).sum() == 1  # a single sink


def test_barabasi_albert_drops_sink_edges_only_when_asked() -> None:
    keep_all = GraphParams(barabasi_albert_drop_prob=0.0)
    drop_all = GraphParams(barabasi_albert_drop_prob=1.0)
    n_keep = sum(
        len(sample_dag("BarabasiAlbert", 40, keep_all, np.random.default_rng(s)).edges)
        for s in range(20)
    )
    n_drop = sum(
        len(sample_dag("BarabasiAlbert", 40, drop_all, np.random.default_rng(s)).edges)
        for s in range(20)
    )
    assert n_drop < n_keep


def _components_by_search(n: int, edges: np.ndarray) -> list[list[int]]:
    """Components by depth-first search from each unvisited node in index order."""
    neighbours: list[list[int]] = [[] for _ in range(n)]
    for a, b in edges.tolist():
        neighbours[a].append(b)
        neighbours[b].append(a)
    seen = [False] * n
    out = []
    for start in range(n):
        if seen[start]:
            continue
        seen[start], stack, part = True, [start], []
        while stack:
            v = stack.pop()
            part.append(v)
            for w in neighbours[v]:
                if not seen[w]:
                    seen[w] = True
                    stack.append(w)
        out.append(sorted(part))
    return out


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 60), st.integers(0, 10**6))
def test_components_are_sorted_and_ordered_by_smallest_node(n: int, seed: int) -> None:
    # the order decides where components are joined, so it must not change
    rng = np.random.default_rng(seed)
    edges = rng.integers(0, n, size=(int(rng.integers(0, 2 * n)), 2))
    assert _components(n, edges) == _components_by_search(n, edges)


@pytest.mark.parametrize("m", [1, 2, 3])
def test_barabasi_albert_has_one_source_and_at_most_m_parents(m: int) -> None:
    """Edges point from the older to the newer node before nodes are relabelled (as
    in the reference), so every node has at most m parents and only the first node
    has none; relabelling first orients edges at random (max in-degree ~8 on 30
    nodes, ~7 sources)."""
    params = GraphParams(barabasi_albert_m=m)
    for n in (m + 1, 10, 30, 60):
        for seed in range(40):
            dag = sample_dag("BarabasiAlbert", n, params, np.random.default_rng(seed))
            assert dag.in_degree().max() <= m
            assert (dag.in_degree() == 0).sum() == 1


@pytest.mark.parametrize("p", [0.3, 0.55, 0.8])
def test_erdos_renyi_joins_a_pair_with_probability_of_either_direction(p: float) -> None:
    """The reference draws a directed G(n, p) and makes it undirected: a pair is
    joined with probability 1 - (1 - p)^2, not p."""
    n, graphs = 30, 200
    params = GraphParams(erdos_renyi_p=[p, p])
    edges = sum(
        len(sample_dag("ErdosRenyi", n, params, np.random.default_rng(s)).edges)
        for s in range(graphs)
    )
    density = edges / (graphs * n * (n - 1) / 2)
    expected = 1 - (1 - p) ** 2
    # 87,000 pairs: the standard error is below 0.0017; components joined add ~none
    assert abs(density - expected) < 0.01, (density, expected)
