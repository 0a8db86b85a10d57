"""A stand-in batch source with the generator's contract, for tests and load benchmarks.

:class:`FabricatedSource` turns a fixed :class:`Schema` into valid Arrow batches
(sequential primary keys, foreign keys that resolve, numeric/boolean/categorical
features with some NULLs, non-decreasing timestamps) from numpy streams keyed by
the seed, so the materialization layer can be exercised without the full PluRel
generator and with table shapes chosen exactly (e.g. for native-path comparisons).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import numpy as np
import pyarrow as pa

from plurel_sql.rng import Draw, Name, stream
from plurel_sql.schema.arrow import arrow_schema
from plurel_sql.schema.ir import Column, Schema, Table, simple_table, value_column


def example_schema(
    num_tables: int = 4,
    entity_rows: int = 60,
    activity_rows: int = 250,
    features: int = 4,
    seed: int = 0,
) -> Schema:
    """A small schema: a chain of entity tables, then activity tables referencing
    them; features cycle through numeric, boolean and categorical (with awkward
    labels: quotes, spaces, unicode)."""
    rng = stream(seed, Draw.FABRICATE, Draw.SCHEMA)
    tables: list[Table] = []
    num_entities = max(1, num_tables // 2)
    for i in range(num_tables):
        is_entity = i < num_entities
        name = f"table_{i}"
        fks = []
        if i > 0:
            parents = [t.name for t in tables]
            chosen = rng.choice(len(parents), size=min(len(parents), 1 + int(rng.integers(2))))
            fks = sorted((f"fk_{parents[j]}", parents[j]) for j in set(chosen))
        cols = []
        for k in range(features):
            kind = ("numeric", "boolean", "categorical")[(i + k) % 3]
            if kind == "categorical":
                labels = ["a", "b c", "it's", "ü"][: 2 + (k % 3)]
                cols.append(value_column(f"f{k}", kind, labels=labels))
            else:
                cols.append(value_column(f"f{k}", kind))
        tables.append(
            simple_table(
                name=name,
                kind="entity" if is_entity else "activity",
                num_rows=entity_rows if is_entity else activity_rows,
                primary_key="row_idx",
                foreign_keys=fks,
                features=cols,
                time_column=None if is_entity else "event_time",
            )
        )
    return Schema(
        tables=tables,
        min_date="2000-01-01",
        max_date="2020-01-01",
        val_cutoff="2016-01-01",
        test_cutoff="2018-01-01",
        origin="fabricated",
    )


class FabricatedSource:
    """Batches for ``schema`` (the generator's contract), deterministic in ``seed``."""

    def __init__(self, schema: Schema, seed: int, chunk_rows: int = 65536) -> None:
        self.planned_schema = schema
        self.seed = seed
        self.chunk_rows = max(1, chunk_rows)
        self._done = False

    @property
    def final_schema(self) -> Schema:
        return self.planned_schema

    def batches(self) -> Iterator[tuple[Table, pa.RecordBatch]]:
        sizes = {t.name: t.num_rows for t in self.planned_schema.tables}
        start = dt.datetime.fromisoformat(self.planned_schema.min_date)
        end = dt.datetime.fromisoformat(self.planned_schema.max_date)
        span_us = int((end - start).total_seconds() * 1_000_000)
        start_us = int((start - dt.datetime(1970, 1, 1)).total_seconds() * 1_000_000)
        for table in self.planned_schema.tables:
            schema = arrow_schema(table)
            n = table.num_rows
            for offset in range(0, max(n, 1), self.chunk_rows):
                m = min(self.chunk_rows, n - offset)
                rng = stream(self.seed, Draw.FABRICATE, Name(table.name), offset)
                arrays: list[pa.Array] = [pa.array(np.arange(offset, offset + m, dtype=np.int64))]
                for fk in table.foreign_keys:
                    arrays.append(pa.array(rng.integers(0, sizes[fk.parent], m, dtype=np.int64)))
                for col in table.features:
                    arrays.append(_feature(rng, col, m))
                if table.time_column:
                    # evenly spread, non-decreasing over the whole table
                    pos = np.arange(offset, offset + m, dtype=np.int64)
                    us = start_us + (pos * (span_us // max(n, 1)))
                    arrays.append(pa.array(us, pa.int64()).cast(pa.timestamp("us")))
                yield table, pa.RecordBatch.from_arrays(arrays, schema=schema)
        self._done = True


def _feature(rng: np.random.Generator, col: Column, m: int) -> pa.Array:
    nulls = rng.random(m) < 0.05
    if col.kind == "numeric":
        values = rng.normal(0.0, 10.0, m)
        return pa.array(values, mask=nulls, type=pa.float64())
    if col.kind == "boolean":
        return pa.array(rng.random(m) < 0.5, mask=nulls, type=pa.bool_())
    labels = np.array(col.labels or ["a"], dtype=object)
    return pa.array(labels[rng.integers(0, len(labels), m)], mask=nulls, type=pa.string())
