"""Stage 1: sample a random schema (a DAG of tables) from a seed and a Config."""

from __future__ import annotations

import datetime as dt

import numpy as np

from plurel_sql.config import Config
from plurel_sql.errors import ConfigError
from plurel_sql.graphs import DAG, sample_dag
from plurel_sql.rng import Draw, stream
from plurel_sql.sampling import draw_choice, draw_int, draw_power_law
from plurel_sql.schema.ir import Column, Schema, simple_table, value_column

PRIMARY_KEY = "row_idx"
TIME_COLUMN = "date"
MAX_SCHEMA_ATTEMPTS = 1000


def sample_time_window(config: Config, seed: int) -> tuple[str, str, str, str]:
    """Two distinct days in the configured range, and the validation/test cut-offs
    (the days at ``val_fraction`` / ``test_fraction`` of the daily range)."""
    rng = stream(seed, Draw.SCHEMA, Draw.TIME_WINDOW)
    start = dt.date.fromisoformat(config.database.min_date)
    end = dt.date.fromisoformat(config.database.max_date)
    total_days = (end - start).days
    first, second = np.sort(rng.choice(total_days, size=2, replace=False))
    lo = start + dt.timedelta(days=int(first))
    hi = start + dt.timedelta(days=int(second))
    days = (hi - lo).days + 1
    val = lo + dt.timedelta(days=int(days * config.database.val_fraction))
    test = lo + dt.timedelta(days=int(days * config.database.test_fraction))
    val, test = min(val, hi), min(test, hi)
    return lo.isoformat(), hi.isoformat(), val.isoformat(), test.isoformat()


def _sample_table_graph(config: Config, seed: int) -> DAG:
    """The table DAG, resampled until every table has at most ``max_foreign_keys``."""
    limit = config.database.max_foreign_keys
    for attempt in range(MAX_SCHEMA_ATTEMPTS):
        rng = stream(seed, Draw.SCHEMA, Draw.TABLE_GRAPH, attempt)
        num_tables = draw_int(rng, config.database.num_tables)
        layout = draw_choice(rng, config.database.table_layouts)
        dag = sample_dag(layout, num_tables, config.graph, rng)
        if limit == 0 or dag.num_nodes == 0 or dag.in_degree().max(initial=0) <= limit:
            return dag
    raise ConfigError(
        f"database.max_foreign_keys = {limit}: no schema found in {MAX_SCHEMA_ATTEMPTS} "
        "attempts; raise the limit or choose other table_layouts"
    )


def _sample_features(config: Config, rng: np.random.Generator) -> list[Column]:
    db = config.database
    columns = []
    for i in range(draw_power_law(rng, db.feature_columns)):
        name = f"feature_{i}"
        if draw_choice(rng, db.column_types) == "numerical":
            columns.append(value_column(name, "numeric"))
            continue
        k = draw_int(rng, db.num_categories)
        if db.booleanize_categoricals:
            columns.append(value_column(name, "boolean", num_categories=k))
        else:
            labels = [str(c) for c in range(k)]
            columns.append(value_column(name, "categorical", labels=labels, num_categories=k))
    return columns


def sample_schema(config: Config, seed: int) -> Schema:
    """A random schema: tables with kinds, row counts, keys and feature columns.

    An edge P -> C of the table DAG gives C a foreign key to P; tables that nobody
    references are activity tables (with a timestamp), the others entity tables.
    Tables are listed in topological order.
    """
    dag = _sample_table_graph(config, seed)
    out_degree = dag.out_degree()
    tables = []
    for node in dag.topological_order():
        rng = stream(seed, Draw.SCHEMA, Draw.TABLE, node)
        kind = "entity" if out_degree[node] > 0 else "activity"
        rows = draw_int(
            rng, config.database.entity_rows if kind == "entity" else config.database.activity_rows
        )
        rows = config.rows.get(f"table_{node}", rows)  # drawn anyway: later draws unchanged
        parents = sorted(dag.parents[node])
        tables.append(
            simple_table(
                name=f"table_{node}",
                kind=kind,
                num_rows=rows,
                primary_key=PRIMARY_KEY,
                foreign_keys=[(f"foreign_row_{i}", f"table_{p}") for i, p in enumerate(parents)],
                features=_sample_features(config, rng),
                time_column=TIME_COLUMN if kind == "activity" else None,
            )
        )
    lo, hi, val, test = sample_time_window(config, seed)
    return Schema(tables=tables, min_date=lo, max_date=hi, val_cutoff=val, test_cutoff=test)
