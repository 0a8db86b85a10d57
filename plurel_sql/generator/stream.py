"""Generation of a whole database as a stream of Arrow record batches.

``DatabaseGenerator(config, seed).batches()`` yields ``(table, batch)`` pairs in
topological order (parents first), each table's batches contiguous. Per table:

1. stage 2 draws every foreign key column from its block model,
2. stage 3 computes the SCM values block by block (fixed RNG blocks of
   ``RNG_BLOCK_ROWS`` rows, independent of ``chunk_rows``),
3. the table's raw SCM outputs are kept in memory only if another table
   references it (children read them), then each column is post-processed,
4. the table is emitted in batches of ``chunk_rows`` rows.

Tables nobody references with at least ``spill_rows`` rows are buffered on disk,
one column file each, so memory stays bounded by one column however large they are.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import gc
from collections.abc import Iterator

import numpy as np
import pyarrow as pa

from plurel_sql.config import Config
from plurel_sql.errors import ConfigError
from plurel_sql.generator.arrow import (
    bool_array,
    float64_array,
    int64_array,
    string_array,
    string_dictionary,
)
from plurel_sql.generator.columns import ColumnStore
from plurel_sql.generator.connectivity import RNG_BLOCK_ROWS, assign_parents, sample_block_model
from plurel_sql.generator.kernel_build import warn_if_slow
from plurel_sql.generator.postprocess import finish_numeric, null_count
from plurel_sql.generator.scm import ParentFeatures, TableSCM, plan_scm, quantize
from plurel_sql.rng import Draw, Name, stream
from plurel_sql.sampling import draw_float
from plurel_sql.schema.arrow import arrow_schema
from plurel_sql.schema.ir import Schema, Table
from plurel_sql.schema.sample import sample_schema

DEFAULT_CHUNK_ROWS = 65_536
DEFAULT_SPILL_ROWS = 100_000


def _epoch_us(day: str) -> int:
    d = dt.date.fromisoformat(day)
    return (d - dt.date(1970, 1, 1)).days * 86_400_000_000


def timestamps(schema: Schema, num_rows: int, start: int, stop: int) -> np.ndarray:
    """Microsecond timestamps evenly spaced over the window (exact integer maths)."""
    lo, hi = _epoch_us(schema.min_date), _epoch_us(schema.max_date)
    i = np.arange(start, stop, dtype=np.int64)
    if num_rows == 1:
        return np.full(len(i), lo, dtype=np.int64)
    step, rest = divmod(hi - lo, num_rows - 1)
    return lo + i * step + (i * rest) // (num_rows - 1)


class DatabaseGenerator:
    """Generates one database from ``(config, seed)``; see the module docstring."""

    def __init__(
        self,
        config: Config,
        seed: int,
        chunk_rows: int = DEFAULT_CHUNK_ROWS,
        schema: Schema | None = None,
        spill_rows: int = DEFAULT_SPILL_ROWS,
        spill_dir: str | None = None,
    ):
        if not isinstance(seed, int) or seed < 0:
            raise ConfigError(f"seed must be a non-negative integer, got {seed!r}")
        if chunk_rows < 1:
            raise ConfigError(f"chunk_rows must be positive, got {chunk_rows}")
        warn_if_slow()
        self.config = config
        self.seed = seed
        self.chunk_rows = chunk_rows
        self.spill_rows = spill_rows
        self.spill_dir = spill_dir
        self.planned_schema = schema if schema is not None else sample_schema(config, seed)
        self._final: dict[str, Table] = {}

    @property
    def final_schema(self) -> Schema:
        """The schema as written (constant boolean columns dropped); complete once
        :meth:`batches` is exhausted."""
        planned = self.planned_schema
        missing = [t.name for t in planned.tables if t.name not in self._final]
        if missing:
            raise RuntimeError(f"tables not generated yet: {', '.join(missing)}")
        return dataclasses.replace(planned, tables=[self._final[t.name] for t in planned.tables])

    def batches(self) -> Iterator[tuple[Table, pa.RecordBatch]]:
        schema = self.planned_schema
        referenced = schema.referenced()
        remaining_children = {name: len(schema.children(name)) for name in referenced}
        kept: dict[str, ParentFeatures] = {}
        for table in schema.tables:
            parents = {p: kept[p] for p in table.parents}
            spill = table.name not in referenced and table.num_rows >= self.spill_rows
            with ColumnStore(table.num_rows, spill=spill, spill_dir=self.spill_dir) as store:
                scm = self._generate_raw(table, parents, store)
                if table.name in referenced:
                    kept[table.name] = ParentFeatures(
                        columns={c.name: store.read(c.name).copy() for c in table.features},
                        num_categories=scm.column_categories(),
                    )
                final = self._postprocess(table, store)
                self._final[table.name] = final
                yield from self._emit(final, store)
            for p in table.parents:  # free parents once their last child is done
                remaining_children[p] -= 1
                if remaining_children[p] == 0:
                    del kept[p]

    def _generate_raw(
        self, table: Table, parents: dict[str, ParentFeatures], store: ColumnStore
    ) -> TableSCM:
        # Clamps keep values finite, so overflow warnings are expected noise. The
        # cyclic garbage collector is paused while a table is computed (no caller code
        # runs meanwhile): its passes over thousands of small MLP objects took ~3 %
        # of generation time; cycles, if any, are collected once it resumes.
        collecting = gc.isenabled()
        gc.disable()
        try:
            with np.errstate(all="ignore"):
                return self._generate_raw_values(table, parents, store)
        finally:
            if collecting:
                gc.enable()

    def _generate_raw_values(
        self, table: Table, parents: dict[str, ParentFeatures], store: ColumnStore
    ) -> TableSCM:
        cfg, seed, n = self.config, self.seed, table.num_rows
        scm = plan_scm(table, parents, cfg.scm, cfg.graph, seed)
        models = {
            fk.column: sample_block_model(
                cfg.connectivity,
                self.planned_schema.table(fk.parent).num_rows,
                n,
                stream(seed, Draw.FOREIGN_KEY, Name(table.name), Name(fk.column), Draw.BLOCK_MODEL),
            )
            for fk in table.foreign_keys
        }
        for block, start in enumerate(range(0, n, RNG_BLOCK_ROWS)):
            stop = min(start + RNG_BLOCK_ROWS, n)
            fks = {
                col: assign_parents(
                    model,
                    start,
                    stop,
                    stream(
                        seed, Draw.FOREIGN_KEY, Name(table.name), Name(col), Draw.ROW_BLOCK, block
                    ),
                )
                for col, model in models.items()
            }
            for col, values in fks.items():
                store.append(col, values)
            for col, values in scm.compute_block(start, stop, block, fks).items():
                store.append(col, values)
        for col, quantizer in scm.quantizers.items():
            raw = store.read(col)
            thresholds = raw[quantizer.threshold_rows]
            store.put(col, quantize(raw, thresholds, quantizer))
        return scm

    def _postprocess(self, table: Table, store: ColumnStore) -> Table:
        db = self.config.database
        n = table.num_rows
        nulls = null_count(
            n,
            draw_float(
                stream(self.seed, Draw.POSTPROCESS, Name(table.name), Draw.NULL_FRACTION),
                db.null_fraction,
            ),
            tuple(db.null_fraction),
        )
        features = []
        for col in table.features:
            rng = stream(self.seed, Draw.POSTPROCESS, Name(table.name), Name(col.name))
            raw = store.read(col.name)
            if col.kind == "numeric":
                store.put(col.name, finish_numeric(raw, db.column_transforms, nulls, rng))
            elif col.kind == "boolean":
                flags = raw > 0
                constant = flags.all() or not flags.any()
                # a schema the user wrote keeps every column it declares
                if constant and db.drop_constant_columns and self.planned_schema.origin == "random":
                    store.drop(col.name)
                    continue
                store.put(col.name, flags)
            features.append(col)
        return dataclasses.replace(table, features=features)

    def _emit(self, table: Table, store: ColumnStore) -> Iterator[tuple[Table, pa.RecordBatch]]:
        schema = arrow_schema(table)
        n = table.num_rows
        labels = {
            c.name: string_dictionary(c.labels) for c in table.features if c.kind == "categorical"
        }
        for start in range(0, n, self.chunk_rows):
            stop = min(start + self.chunk_rows, n)
            arrays = [int64_array(np.arange(start, stop, dtype=np.int64))]
            arrays += [int64_array(store.read(fk.column, start, stop)) for fk in table.foreign_keys]
            for col in table.features:
                values = store.read(col.name, start, stop)
                if col.kind == "numeric":
                    arrays.append(float64_array(values, null=np.isnan(values)))
                elif col.kind == "boolean":
                    arrays.append(bool_array(values))
                else:
                    arrays.append(string_array(labels[col.name], values))
            if table.time_column:
                ts = timestamps(self.planned_schema, n, start, stop)
                arrays.append(int64_array(ts, pa.timestamp("us")))
            yield table, pa.RecordBatch.from_arrays(arrays, schema=schema)


def generate(
    config: Config, seed: int, chunk_rows: int = DEFAULT_CHUNK_ROWS
) -> Iterator[tuple[Table, pa.RecordBatch]]:
    """Shorthand for ``DatabaseGenerator(config, seed, chunk_rows).batches()``."""
    return DatabaseGenerator(config, seed, chunk_rows).batches()
