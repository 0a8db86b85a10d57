"""Fidelity statistics: what generated databases look like, so changes can be compared.

    python benchmarks/fidelity.py --out after.json                 # generate and summarize
    python benchmarks/fidelity.py --out after.json --compare before.json
    python benchmarks/fidelity.py --show after.json --compare before.json   # no generation
    python benchmarks/fidelity.py --compare benchmarks/results/fidelity-reference.json.gz

benchmarks/results/ keeps the last release's figures and the reference
implementation's (measured with these functions on its own databases); a ``.gz``
name reads or writes gzip.

Three samples, all in-process (no engine):

- ``schema.*``: stage 1 alone over ``--schemas`` seeds (cheap): tables, activity share,
  foreign keys per table;
- ``graph.<layout>.*``: ``--graphs`` graphs per layout on ``--graph-nodes`` nodes:
  edges, maximum in-degree, sources, sinks;
- ``db.*``, ``table.*``, ``fk.*``, ``column.*``: ``--databases`` whole databases
  (default configuration, seeds from ``--first-seed``): tables by kind, rows, foreign
  keys per table, how child rows spread over parent rows (in-degree mean, max, Gini,
  coverage), column kinds, NULL fractions, skewness, excess kurtosis, log10 of the
  largest |value|, and time trends (Spearman of activity-table columns with row order,
  which is time order).

The JSON holds every sample value, so two files can be compared statistic by
statistic (two-sample Kolmogorov-Smirnov test); the printed table shows count, mean,
1st / 50th / 99th percentiles. The statistics functions take plain numpy arrays, so
databases from elsewhere (e.g. the reference implementation) can be measured alike.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
from scipy import stats as scipy_stats

TREND = 0.3  # |Spearman with time| beyond this counts as a trend


@dataclass
class TableData:
    """One generated table as plain arrays (NULL = NaN in numeric columns)."""

    name: str
    kind: str  # "entity" | "activity"
    num_rows: int
    foreign_keys: dict[str, tuple[str, np.ndarray]] = field(default_factory=dict)
    numeric: dict[str, np.ndarray] = field(default_factory=dict)
    boolean: dict[str, np.ndarray] = field(default_factory=dict)
    categorical: dict[str, np.ndarray] = field(default_factory=dict)


Samples = dict[str, list[float]]


def gini(counts: np.ndarray) -> float:
    """Gini coefficient of non-negative counts (0: even, -> 1: concentrated)."""
    c = np.sort(np.asarray(counts, dtype=np.float64))
    n, total = len(c), c.sum()
    if n == 0 or total == 0:
        return 0.0
    ranks = np.arange(1, n + 1)
    return float(((2 * ranks - n - 1) * c).sum() / (n * total))


def database_stats(tables: list[TableData], out: Samples) -> None:
    """Append one database's statistics to ``out``."""
    by_name = {t.name: t for t in tables}
    kinds = [t.kind for t in tables]
    out["db.tables"].append(len(tables))
    out["db.activity_tables"].append(kinds.count("activity"))
    columns = {"numeric": 0, "boolean": 0, "categorical": 0}
    for t in tables:
        out[f"table.rows_{t.kind}"].append(t.num_rows)
        out["table.foreign_keys"].append(len(t.foreign_keys))
        out["table.feature_columns"].append(len(t.numeric) + len(t.boolean) + len(t.categorical))
        for kind in columns:
            columns[kind] += len(getattr(t, kind))
        for parent, values in t.foreign_keys.values():
            counts = np.bincount(values, minlength=by_name[parent].num_rows)
            out["fk.indegree_mean"].append(float(counts.mean()))
            out["fk.indegree_max"].append(float(counts.max()))
            out["fk.indegree_gini"].append(gini(counts))
            out["fk.coverage"].append(float((counts > 0).mean()))
        order = np.arange(t.num_rows)
        for values in t.numeric.values():
            _numeric_column_stats(values, order if t.kind == "activity" else None, out)
        for values in t.boolean.values():
            out["column.boolean_true_fraction"].append(float(np.mean(values)))
    total = max(sum(columns.values()), 1)
    for kind, count in columns.items():
        out[f"db.{kind}_column_share"].append(count / total)


def _numeric_column_stats(values: np.ndarray, order: np.ndarray | None, out: Samples) -> None:
    values = np.asarray(values, dtype=np.float64)
    null = np.isnan(values)
    out["column.null_fraction"].append(float(null.mean()))
    present = values[~null]
    if len(present) < 3:
        return
    largest = float(np.abs(present).max())
    if largest > 0:
        out["column.log10_max_abs"].append(float(np.log10(largest)))
    out["column.distinct_ratio"].append(len(np.unique(present)) / len(present))
    if np.ptp(present) == 0 or not np.isfinite(present).all():
        return
    with np.errstate(all="ignore"):
        skew = float(scipy_stats.skew(present))
        kurt = float(scipy_stats.kurtosis(present))
    if np.isfinite(skew) and np.isfinite(kurt):
        out["column.skewness"].append(skew)
        out["column.kurtosis"].append(kurt)
    if order is not None:
        rho = float(scipy_stats.spearmanr(order[~null], present).statistic)
        if np.isfinite(rho):
            out["column.time_spearman"].append(rho)
            out["column.time_trend_down"].append(float(rho < -TREND))
            out["column.time_trend_up"].append(float(rho > TREND))


def schema_stats(tables: list[tuple[str, int]], out: Samples) -> None:
    """Append one schema's statistics; ``tables`` = (kind, number of foreign keys)."""
    out["schema.tables"].append(len(tables))
    out["schema.activity_share"].append(sum(k == "activity" for k, _ in tables) / len(tables))
    out["schema.max_foreign_keys"].append(max(n for _, n in tables))
    for _, n in tables:
        out["schema.foreign_keys_per_table"].append(n)


def graph_stats(layout: str, num_nodes: int, edges: np.ndarray, out: Samples) -> None:
    """Append one DAG's statistics; ``edges`` is (m, 2) of (parent, child)."""
    edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    indeg = np.bincount(edges[:, 1], minlength=num_nodes)
    outdeg = np.bincount(edges[:, 0], minlength=num_nodes)
    out[f"graph.{layout}.edges"].append(len(edges))
    out[f"graph.{layout}.max_in_degree"].append(int(indeg.max()))
    out[f"graph.{layout}.sources"].append(int((indeg == 0).sum()))
    out[f"graph.{layout}.sinks"].append(int((outdeg == 0).sum()))


# ------------------------------------------------------------------ our generator


def generated_tables(config, seed: int) -> list[TableData]:
    """Generate one database in-process and return its tables as arrays."""
    import pyarrow as pa

    from plurel_sql.generator.stream import DatabaseGenerator

    gen = DatabaseGenerator(config, seed)
    parts: dict[str, list[pa.RecordBatch]] = defaultdict(list)
    for table, batch in gen.batches():
        parts[table.name].append(batch)
    out = []
    for table in gen.final_schema.tables:
        data = pa.Table.from_batches(parts[table.name]).combine_chunks()
        t = TableData(table.name, table.kind, table.num_rows)
        for fk in table.foreign_keys:
            t.foreign_keys[fk.column] = (fk.parent, data.column(fk.column).to_numpy())
        for col in table.features:
            array = data.column(col.name)
            if col.kind == "numeric":
                t.numeric[col.name] = array.to_numpy(zero_copy_only=False).astype(np.float64)
            elif col.kind == "boolean":
                t.boolean[col.name] = array.to_numpy(zero_copy_only=False)
            else:
                t.categorical[col.name] = array.chunk(0).indices.to_numpy(zero_copy_only=False)
        out.append(t)
    return out


def measure(args: argparse.Namespace) -> dict:
    """Generate and measure schemas, graphs and databases with plurel_sql."""
    import plurel_sql
    from plurel_sql.config import GRAPH_LAYOUTS, default_config
    from plurel_sql.graphs import sample_dag
    from plurel_sql.schema.sample import sample_schema

    config = default_config()
    samples: Samples = defaultdict(list)
    started = time.perf_counter()
    for seed in range(args.schemas):
        schema = sample_schema(config, seed)
        schema_stats([(t.kind, len(t.foreign_keys)) for t in schema.tables], samples)
    for code, layout in enumerate(GRAPH_LAYOUTS):
        for i in range(args.graphs):
            rng = np.random.default_rng([code, i])
            dag = sample_dag(layout, args.graph_nodes, config.graph, rng)
            graph_stats(layout, args.graph_nodes, dag.edges, samples)
    for i, seed in enumerate(range(args.first_seed, args.first_seed + args.databases)):
        database_stats(generated_tables(config, seed), samples)
        print(f"\rdatabase {i + 1}/{args.databases}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return {
        "source": f"plurel-sql {plurel_sql.__version__}",
        "databases": args.databases,
        "first_seed": args.first_seed,
        "schemas": args.schemas,
        "graphs": args.graphs,
        "graph_nodes": args.graph_nodes,
        "seconds": round(time.perf_counter() - started, 1),
        "samples": {k: [float(v) for v in vs] for k, vs in sorted(samples.items())},
    }


# ------------------------------------------------------------------ reporting


def summary(values: Iterable[float]) -> dict[str, float]:
    a = np.asarray(list(values), dtype=np.float64)
    if len(a) == 0:
        return {"n": 0}
    p1, p50, p99 = np.percentile(a, [1, 50, 99])
    return {"n": len(a), "mean": float(a.mean()), "p1": p1, "p50": p50, "p99": p99}


def _fmt(x: float) -> str:
    if x == 0 or 1e-3 <= abs(x) < 1e5:
        return f"{x:.3f}" if abs(x) < 100 else f"{x:.1f}"
    return f"{x:.2e}"


def report(new: dict, old: dict | None = None) -> str:
    """The table of statistics; with ``old``, both side by side and the KS test."""
    lines = [f"new: {new['source']} ({new['databases']} databases from seed {new['first_seed']})"]
    if old:
        lines.append(f"old: {old['source']} ({old['databases']} databases)")
        head = f"{'statistic':<38} {'old mean':>9} {'old p50':>9} {'old p99':>9} "
        head += f"{'new mean':>9} {'new p50':>9} {'new p99':>9} {'KS D':>6} {'p':>8}"
    else:
        head = f"{'statistic':<38} {'n':>6} {'mean':>9} {'p1':>9} {'p50':>9} {'p99':>9}"
    lines += [head, "-" * len(head)]
    names = sorted(set(new["samples"]) | set(old["samples"] if old else ()))
    for name in names:
        b = new["samples"].get(name, [])
        s = summary(b)
        if not old:
            if s["n"]:
                lines.append(
                    f"{name:<38} {s['n']:>6} "
                    + " ".join(f"{_fmt(s[k]):>9}" for k in ("mean", "p1", "p50", "p99"))
                )
            continue
        a = old["samples"].get(name, [])
        r = summary(a)
        cells = [f"{_fmt(r[k]) if r['n'] else '-':>9}" for k in ("mean", "p50", "p99")]
        cells += [f"{_fmt(s[k]) if s['n'] else '-':>9}" for k in ("mean", "p50", "p99")]
        if len(a) > 1 and len(b) > 1:
            ks = scipy_stats.ks_2samp(a, b)
            cells += [f"{ks.statistic:>6.3f}", f"{ks.pvalue:>8.1e}"]
        lines.append(f"{name:<38} " + " ".join(cells))
    return "\n".join(lines)


def read_json(path: str) -> dict:
    with (gzip.open if path.endswith(".gz") else open)(path, "rt", encoding="utf-8") as fh:
        return json.load(fh)


def write_json(path: str, data: dict) -> None:
    # four significant digits: enough for the statistics, a third of the size
    data = {
        **data,
        "samples": {k: [float(f"{v:.4g}") for v in vs] for k, vs in data["samples"].items()},
    }
    with (gzip.open if path.endswith(".gz") else open)(path, "wt", encoding="utf-8") as fh:
        json.dump(data, fh, separators=(",", ":"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--databases", type=int, default=60)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--schemas", type=int, default=2000)
    parser.add_argument("--graphs", type=int, default=200, help="graphs per layout")
    parser.add_argument("--graph-nodes", type=int, default=30)
    parser.add_argument("--out", help="write the samples as JSON here")
    parser.add_argument("--show", metavar="JSON", help="report this file instead of measuring")
    parser.add_argument("--compare", metavar="JSON", help="an earlier file to compare with")
    args = parser.parse_args()
    if args.show:
        new = read_json(args.show)
    else:
        new = measure(args)
        if args.out:
            write_json(args.out, new)
    old = read_json(args.compare) if args.compare else None
    print(report(new, old))


if __name__ == "__main__":
    main()
