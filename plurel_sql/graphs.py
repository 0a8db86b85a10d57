"""The seven random DAG generators used for schemas (stage 1) and causal graphs (stage 3).

Each generator is a pure function ``(n, params, rng) -> DAG``: it draws only from the
generator it is given and returns a connected directed acyclic graph on nodes
``0..n-1`` with one weight per edge. Undirected constructions are oriented from the
lower to the higher node index; disconnected components are joined by extra edges
that follow a topological order, so the result stays acyclic.

Barabasi-Albert, Watts-Strogatz and the random trees are networkx's generators (the
reference's), seeded from the given generator; Erdos-Renyi, RandomCauchy and
Layered are vectorized here (see docs/generator.md for the measurement).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy import sparse
from scipy.sparse import csgraph

from plurel_sql.config import GraphParams
from plurel_sql.sampling import draw_choice, draw_float, draw_int


@dataclass(frozen=True)
class DAG:
    """A weighted DAG: ``edges[i] = (parent, child)`` with weight ``weights[i]``."""

    num_nodes: int
    edges: np.ndarray  # (m, 2) int64
    weights: np.ndarray  # (m,) float64

    @cached_property
    def parents(self) -> list[list[int]]:
        """Parents of every node, in edge order."""
        return self._adjacency(child_side=True)

    @cached_property
    def children(self) -> list[list[int]]:
        """Children of every node, in edge order."""
        return self._adjacency(child_side=False)

    def _adjacency(self, child_side: bool) -> list[list[int]]:
        out: list[list[int]] = [[] for _ in range(self.num_nodes)]
        for p, c in self.edges.tolist():
            if child_side:
                out[c].append(p)
            else:
                out[p].append(c)
        return out

    def in_degree(self) -> np.ndarray:
        return np.bincount(self.edges[:, 1], minlength=self.num_nodes)

    def out_degree(self) -> np.ndarray:
        return np.bincount(self.edges[:, 0], minlength=self.num_nodes)

    def edge_weight(self, parent: int, child: int) -> float:
        hit = np.flatnonzero((self.edges[:, 0] == parent) & (self.edges[:, 1] == child))
        return float(self.weights[hit[0]])

    def topological_order(self) -> list[int]:
        """Kahn's algorithm, smallest ready node first (deterministic)."""
        import heapq

        indeg = self.in_degree().tolist()
        ready = [v for v in range(self.num_nodes) if indeg[v] == 0]
        heapq.heapify(ready)
        order: list[int] = []
        children = self.children
        while ready:
            v = heapq.heappop(ready)
            order.append(v)
            for c in children[v]:
                indeg[c] -= 1
                if indeg[c] == 0:
                    heapq.heappush(ready, c)
        if len(order) != self.num_nodes:
            raise ValueError("graph has a cycle")
        return order

    def is_connected(self) -> bool:
        return len(_components(self.num_nodes, self.edges)) <= 1


def _components(n: int, edges: np.ndarray) -> list[list[int]]:
    """The connected components (edge directions ignored), each as its sorted nodes,
    ordered by their smallest node."""
    if len(edges) == 0:
        return [[v] for v in range(n)]
    graph = sparse.coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(n, n))
    _, labels = csgraph.connected_components(graph, directed=False)
    # name each component by its smallest node, so the order does not depend on how
    # scipy numbers components; a stable sort keeps each component's nodes ascending
    _, smallest = np.unique(labels, return_index=True)
    by_smallest = smallest[labels]
    nodes = np.argsort(by_smallest, kind="stable")
    starts = np.flatnonzero(np.diff(by_smallest[nodes])) + 1
    return [part.tolist() for part in np.split(nodes, starts)]


def _dedupe(edges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    seen: set[tuple[int, int]] = set()
    out = []
    for e in edges:
        if e[0] != e[1] and e not in seen:
            seen.add(e)
            out.append(e)
    return out


def _finish(
    n: int, edges: list[tuple[int, int]], params: GraphParams, rng: np.random.Generator
) -> DAG:
    """Join components along a topological order, then draw the edge weights."""
    edges = _dedupe(edges)
    arr = np.array(edges, dtype=np.int64).reshape(-1, 2)
    comps = _components(n, arr)
    if len(comps) > 1:
        order = DAG(n, arr, np.zeros(len(arr))).topological_order()
        rank = {v: i for i, v in enumerate(order)}
        for left, right in zip(comps[:-1], comps[1:], strict=True):
            u = left[int(rng.integers(len(left)))]
            v = right[int(rng.integers(len(right)))]
            edges.append((u, v) if rank[u] < rank[v] else (v, u))
        arr = np.array(edges, dtype=np.int64).reshape(-1, 2)
    dist = draw_choice(rng, params.edge_weight_distributions)
    m = len(arr)
    if dist == "gaussian":
        weights = rng.standard_normal(m)
    elif dist == "lognormal":
        weights = rng.lognormal(0.0, 1.0, m)
    elif dist == "cauchy":
        weights = rng.standard_cauchy(m)
    else:
        weights = rng.uniform(-2.0, 2.0, m)
    return DAG(n, arr, weights.astype(np.float64))


def _python_random(rng: np.random.Generator) -> random.Random:
    """A Python ``Random`` seeded from ``rng``, for networkx's generators, which draw
    through Python's random API (whose algorithms are fixed across Python versions)."""
    return random.Random(int(rng.integers(0, 2**63)))


def erdos_renyi(n: int, params: GraphParams, rng: np.random.Generator) -> DAG:
    """A directed G(n, p), p ~ U[erdos_renyi_p], made undirected (as the reference
    draws it): a pair i < j is joined with probability 1 - (1 - p)^2.

    One uniform per pair, vectorized: networkx's directed generator makes a Python
    call per ordered pair (1.5 ms on 30 nodes, 15 ms on 60, against 0.28 and 0.77 ms
    for this whole function; benchmarks/bench_graphs.py) for the same distribution."""
    p = draw_float(rng, params.erdos_renyi_p)
    either = 1.0 - (1.0 - p) ** 2
    ii, jj = np.triu_indices(n, k=1)
    keep = rng.random(len(ii)) < either
    return _finish(n, list(zip(ii[keep].tolist(), jj[keep].tolist(), strict=True)), params, rng)


def barabasi_albert(n: int, params: GraphParams, rng: np.random.Generator) -> DAG:
    """Preferential attachment (networkx's generator) with m edges per new node,
    each edge oriented from the older node to the newer one, then nodes relabelled
    at random; then each multi-parent sink loses one incoming edge with probability
    ``barabasi_albert_drop_prob``.

    Orienting before relabelling (as the reference does) gives every node at most m
    parents and exactly one source (the first node); relabelling first would orient
    the edges at random."""
    if n < 2:
        return _finish(n, [], params, rng)
    import networkx as nx  # imported here: ~0.1 s, and only graph sampling needs it

    m = min(params.barabasi_albert_m, n - 1)
    graph = nx.barabasi_albert_graph(n, m, seed=_python_random(rng))
    relabel = rng.permutation(n).tolist()
    edges = sorted((relabel[min(a, b)], relabel[max(a, b)]) for a, b in graph.edges())
    out_deg = np.zeros(n, dtype=int)
    incoming: list[list[int]] = [[] for _ in range(n)]
    for i, (a, b) in enumerate(edges):
        out_deg[a] += 1
        incoming[b].append(i)
    dropped: set[int] = set()
    for v in range(n):
        if (
            out_deg[v] == 0
            and len(incoming[v]) > 1
            and rng.random() < params.barabasi_albert_drop_prob
        ):
            dropped.add(incoming[v][int(rng.integers(len(incoming[v])))])
    return _finish(n, [e for i, e in enumerate(edges) if i not in dropped], params, rng)


def _random_tree_bfs(n: int, rng: np.random.Generator) -> list[tuple[int, int]]:
    """A uniform random labelled tree (networkx's generator), edges pointing away
    from a random root in breadth-first order."""
    if n < 2:
        return []
    import networkx as nx

    tree = nx.random_labeled_tree(n, seed=_python_random(rng))
    adjacency: list[list[int]] = [[] for _ in range(n)]
    for a, b in tree.edges():
        adjacency[a].append(b)
        adjacency[b].append(a)
    root = int(rng.integers(n))
    seen = {root}
    queue = [root]
    directed = []
    for v in queue:
        for w in sorted(adjacency[v]):
            if w not in seen:
                seen.add(w)
                directed.append((v, w))
                queue.append(w)
    return directed


def random_tree(n: int, params: GraphParams, rng: np.random.Generator) -> DAG:
    """Uniform random labelled tree, edges pointing away from a random root."""
    return _finish(n, _random_tree_bfs(n, rng), params, rng)


def reverse_random_tree(n: int, params: GraphParams, rng: np.random.Generator) -> DAG:
    """Uniform random labelled tree, edges pointing toward a random root."""
    return _finish(n, [(b, a) for a, b in _random_tree_bfs(n, rng)], params, rng)


def watts_strogatz(n: int, params: GraphParams, rng: np.random.Generator) -> DAG:
    """Ring lattice of degree k (even, <= n) with each edge rewired with probability p
    (networkx's generator), oriented from the lower to the higher index.

    k and p are drawn independently (the reference re-seeds its global generator
    inside its DAG constructor, which ties its k to earlier draws; see
    docs/generator.md)."""
    if n < 2:
        return _finish(n, [], params, rng)
    import networkx as nx

    k = int(draw_choice(rng, params.watts_strogatz_k))
    p = draw_float(rng, params.watts_strogatz_p)
    k = min(k, n)
    k = max(2, k - k % 2)
    graph = nx.watts_strogatz_graph(n, k, p, seed=_python_random(rng))
    return _finish(n, sorted((min(a, b), max(a, b)) for a, b in graph.edges()), params, rng)


def random_cauchy(n: int, params: GraphParams, rng: np.random.Generator) -> DAG:
    """Edge i < j with probability sigmoid(A + B_i + C_j), all standard Cauchy."""
    a = rng.standard_cauchy()
    b = rng.standard_cauchy(n)
    c = rng.standard_cauchy(n)
    ii, jj = np.triu_indices(n, k=1)
    logits = np.clip(a + b[ii] + c[jj], -500, 500)
    keep = rng.random(len(ii)) < 1.0 / (1.0 + np.exp(-logits))
    return _finish(n, list(zip(ii[keep].tolist(), jj[keep].tolist(), strict=True)), params, rng)


def layered(n: int, params: GraphParams, rng: np.random.Generator) -> DAG:
    """Nodes in consecutive layers (contiguous index ranges), adjacent layers fully
    connected with each edge dropped with probability ``layered_drop_prob``; every
    node keeps at least one parent in the previous and one child in the next layer."""
    if n < 2:
        return _finish(n, [], params, rng)
    depth = min(draw_int(rng, params.layered_depth), n)
    sizes = np.ones(depth, dtype=int)
    np.add.at(sizes, rng.integers(0, depth, size=n - depth), 1)
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    layers = [list(range(bounds[i], bounds[i + 1])) for i in range(depth)]
    edges: list[tuple[int, int]] = []
    for src, dst in zip(layers[:-1], layers[1:], strict=True):
        keep = rng.random((len(src), len(dst))) >= params.layered_drop_prob
        for v_idx in range(len(dst)):
            if not keep[:, v_idx].any():
                keep[int(rng.integers(len(src))), v_idx] = True
        for u_idx in range(len(src)):
            if not keep[u_idx].any():
                keep[u_idx, int(rng.integers(len(dst)))] = True
        us, vs = np.nonzero(keep)
        edges.extend((src[u], dst[v]) for u, v in zip(us.tolist(), vs.tolist(), strict=True))
    return _finish(n, edges, params, rng)


GENERATORS: dict[str, Callable[[int, GraphParams, np.random.Generator], DAG]] = {
    "ErdosRenyi": erdos_renyi,
    "BarabasiAlbert": barabasi_albert,
    "RandomTree": random_tree,
    "ReverseRandomTree": reverse_random_tree,
    "WattsStrogatz": watts_strogatz,
    "RandomCauchy": random_cauchy,
    "Layered": layered,
}


def sample_dag(layout: str, n: int, params: GraphParams, rng: np.random.Generator) -> DAG:
    """The DAG of the named layout on ``n`` nodes."""
    return GENERATORS[layout](n, params, rng)
