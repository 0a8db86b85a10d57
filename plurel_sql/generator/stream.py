"""Generation of a whole database as a stream of Arrow record batches.

``DatabaseGenerator(config, seed).batches()`` yields ``(table, batch)`` pairs in
dependency order (parents first), each table's batches contiguous. Per table:

1. stage 2 draws every foreign key's parent rows from its block model, then the
   constraints over several rows (NULL links, distinct tuples, per-group key
   sequences: :mod:`plurel_sql.generator.links`),
2. stage 3 computes the SCM values block by block (fixed RNG blocks of
   ``RNG_BLOCK_ROWS`` rows, independent of ``chunk_rows``),
3. the table's raw SCM outputs are kept in memory only if another table
   references it (children read them), then each column is post-processed: a
   random schema's columns as the method says, a user's columns landed on their
   declared types and constraints (:mod:`plurel_sql.generator.landing`),
4. the table is emitted in batches of ``chunk_rows`` rows, key columns computed
   from row numbers and links.

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
    numpy_array,
    string_array,
    string_dictionary,
)
from plurel_sql.generator.columns import ColumnStore
from plurel_sql.generator.connectivity import RNG_BLOCK_ROWS
from plurel_sql.generator.kernel_build import warn_if_slow
from plurel_sql.generator.keys import DAY_US, row_values
from plurel_sql.generator.landing import ColumnSpec, land_column
from plurel_sql.generator.links import LINK, SEQUENCE, Link, draw_links, link_values, table_links
from plurel_sql.generator.postprocess import finish_numeric, null_count
from plurel_sql.generator.row_checks import repair_pairs
from plurel_sql.generator.scm import ParentFeatures, TableSCM, plan_scm, quantize
from plurel_sql.rng import Draw, Name, stream
from plurel_sql.sampling import draw_float
from plurel_sql.schema.arrow import arrow_schema, arrow_type
from plurel_sql.schema.domains import column_domain
from plurel_sql.schema.ir import Column, Schema, Table
from plurel_sql.schema.keys import plan_keys
from plurel_sql.schema.sample import sample_schema
from plurel_sql.values.plan import check_random_overrides, landing_rule, null_rows

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
        if self.planned_schema.origin == "random":
            check_random_overrides(config, self.planned_schema)
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

    @property
    def _legacy(self) -> bool:
        """A random schema: post-processing exactly as the method describes."""
        return self.planned_schema.origin == "random"

    def batches(self) -> Iterator[tuple[Table, pa.RecordBatch]]:
        schema = self.planned_schema
        links = {t.name: table_links(t, schema) for t in schema.tables}
        readers = {  # parent -> tables reading its kept values
            t.name: {lk.fk.parent for lk in links[t.name] if lk.feeds_scm} for t in schema.tables
        }
        remaining = {t.name: sum(t.name in r for r in readers.values()) for t in schema.tables}
        kept: dict[str, ParentFeatures] = {}
        kept_keys: dict[str, dict[str, pa.Array]] = {}
        for table in schema.tables:
            referenced = remaining[table.name] > 0
            spill = not referenced and table.num_rows >= self.spill_rows
            with ColumnStore(table.num_rows, spill=spill, spill_dir=self.spill_dir) as store:
                scm = self._generate_raw(table, links[table.name], kept, store)
                if referenced:
                    kept[table.name] = ParentFeatures(
                        columns={c.name: store.read(c.name).copy() for c in table.scm_columns},
                        num_categories=scm.column_categories(),
                    )
                final = self._postprocess(table, store)
                self._final[table.name] = final
                yield from self._emit(final, links[table.name], store, kept_keys)
            for parent in readers[table.name]:  # free parents once their last reader is done
                remaining[parent] -= 1
                if remaining[parent] == 0:
                    kept.pop(parent, None)
                    kept_keys.pop(parent, None)

    def _generate_raw(
        self, table: Table, links: list[Link], kept: dict[str, ParentFeatures], store: ColumnStore
    ) -> TableSCM:
        # Clamps keep values finite, so overflow warnings are expected noise. The
        # cyclic garbage collector is paused while a table is computed (no caller code
        # runs meanwhile): its passes over thousands of small MLP objects took ~3 %
        # of generation time; cycles, if any, are collected once it resumes.
        collecting = gc.isenabled()
        gc.disable()
        try:
            with np.errstate(all="ignore"):
                return self._generate_raw_values(table, links, kept, store)
        finally:
            if collecting:
                gc.enable()

    def _generate_raw_values(
        self, table: Table, links: list[Link], kept: dict[str, ParentFeatures], store: ColumnStore
    ) -> TableSCM:
        cfg, seed, n = self.config, self.seed, table.num_rows
        feeding = [lk for lk in links if lk.feeds_scm]
        parents = {lk.fk.parent: kept[lk.fk.parent] for lk in feeding}
        scm = plan_scm(
            table, parents, cfg.scm, cfg.graph, seed, [(lk.key, lk.fk.parent) for lk in feeding]
        )
        draw_links(table, links, cfg, seed, store)
        for block, start in enumerate(range(0, n, RNG_BLOCK_ROWS)):
            stop = min(start + RNG_BLOCK_ROWS, n)
            # a NULL link (-1) reads parent row 0's contribution
            fks = {lk.key: np.maximum(store.read(LINK + lk.key, start, stop), 0) for lk in feeding}
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
        if not self._legacy:
            self._land(table, store, nulls)
            return table
        dropped = set()
        for col in table.features:
            rng = stream(self.seed, Draw.POSTPROCESS, Name(table.name), Name(col.name))
            raw = store.read(col.name)
            if col.kind == "numeric":
                store.put(col.name, finish_numeric(raw, db.column_transforms, nulls, rng))
            elif col.kind == "boolean":
                flags = raw > 0
                constant = flags.all() or not flags.any()
                if constant and db.drop_constant_columns:
                    store.drop(col.name)
                    dropped.add(col.name)
                    continue
                store.put(col.name, flags)
        return dataclasses.replace(
            table, columns=[c for c in table.columns if c.name not in dropped]
        )

    def _land(self, table: Table, store: ColumnStore, nulls: int) -> None:
        """A user's value columns (and the time column) as typed Arrow columns that
        satisfy their type and CHECKs; columns compared with each other by a CHECK
        are repaired together, the others stored one at a time."""
        schema, n = self.planned_schema, table.num_rows
        paired = {
            c for check in table.checks if any(a.other for a in check.atoms) for c in check.columns
        }
        held: dict[str, pa.Array] = {}
        columns = list(table.features)
        if table.time_column:
            columns.append(table.column(table.time_column))
        for col in columns:
            if col.name == table.time_column:
                values = time_values(schema, col, n, 0, n)
            else:
                override = self.config.column_override(table.name, col.name)
                spec = ColumnSpec(
                    table.name,
                    col,
                    column_domain(table, col),
                    schema.min_date,
                    schema.max_date,
                    n,
                    null_rows(override, n, nulls),
                    self.seed,
                    landing_rule(
                        table, col, (schema.min_date, schema.max_date), self.config, self.seed
                    ),
                )
                raw = store.read(col.name) if col.scm_type is not None else None
                values = land_column(
                    spec, raw, stream(self.seed, Draw.POSTPROCESS, Name(table.name), Name(col.name))
                )
                store.drop(col.name)
            if col.name in paired:
                held[col.name] = values
            else:
                store.put_arrow(col.name, values)
        repair_pairs(table, held)
        for name, values in held.items():
            store.put_arrow(name, values)

    def _emit(
        self,
        table: Table,
        links: list[Link],
        store: ColumnStore,
        kept_keys: dict[str, dict[str, pa.Array]],
    ) -> Iterator[tuple[Table, pa.RecordBatch]]:
        schema = arrow_schema(table)
        planned, n = self.planned_schema, table.num_rows
        plan = plan_keys(table)[0]
        sequences = {s.column for s in plan.sequences}
        legacy = self._legacy
        labels = {
            c.name: string_dictionary(c.labels)
            for c in table.features
            if legacy and c.kind == "categorical"
        }
        wanted = _kept_key_columns(table, planned, plan.row_numbers)
        collected: dict[str, list[pa.Array]] = {c: [] for c in wanted}
        for start in range(0, n, self.chunk_rows):
            stop = min(start + self.chunk_rows, n)
            rows = np.arange(start, stop, dtype=np.int64)
            out: dict[str, pa.Array] = {}
            for link in links:
                parent_rows = store.read(LINK + link.key, start, stop)
                values = link_values(link, parent_rows, planned, kept_keys, table, self.seed)
                for name, array in values.items():
                    out.setdefault(name, array)
            for column in table.columns:
                name = column.name
                if name in out:
                    continue
                if name in plan.row_numbers:
                    out[name] = row_values(table, column, rows, planned, self.seed)
                elif name in sequences:
                    ranks = store.read(SEQUENCE + name, start, stop)
                    out[name] = row_values(table, column, ranks, planned, self.seed)
                elif not legacy:
                    out[name] = store.read_arrow(name, start, stop)
                elif name == table.time_column:
                    out[name] = time_values(planned, column, n, start, stop)
                else:
                    out[name] = _legacy_array(column, store.read(name, start, stop), labels)
            for name in wanted:
                collected[name].append(out[name])
            arrays = [out[c.name] for c in table.columns]
            yield table, pa.RecordBatch.from_arrays(arrays, schema=schema)
        if wanted:
            kept_keys[table.name] = {
                name: pa.concat_arrays(parts) if parts else pa.array([], schema.field(name).type)
                for name, parts in collected.items()
            }


def _kept_key_columns(table: Table, schema: Schema, row_numbers: list[str]) -> list[str]:
    """Columns of ``table`` that children's foreign keys reference and that are not
    derived from the row number: kept whole until the children are generated."""
    wanted: dict[str, None] = {}
    for child in schema.tables:
        for fk in child.foreign_keys:
            if fk.parent == table.name:
                for column in fk.parent_columns:
                    if column not in row_numbers:
                        wanted.setdefault(column)
    return list(wanted)


def _legacy_array(column: Column, values: np.ndarray, labels: dict[str, pa.Array]) -> pa.Array:
    """A random schema's value column as the method stores it."""
    if column.kind == "numeric":
        return float64_array(values, null=np.isnan(values))
    if column.kind == "boolean":
        return bool_array(values)
    return string_array(labels[column.name], values)


def time_values(schema: Schema, column: Column, num_rows: int, start: int, stop: int) -> pa.Array:
    """The time column's values for rows ``[start, stop)``: evenly spaced over the
    window in row order, in the column's type (DATE: the day)."""
    us = timestamps(schema, num_rows, start, stop)
    if column.type.name == "date":
        return numpy_array((us // DAY_US).astype(np.int32)).cast(pa.date32())
    return int64_array(us, arrow_type(column.type))


def generate(
    config: Config, seed: int, chunk_rows: int = DEFAULT_CHUNK_ROWS
) -> Iterator[tuple[Table, pa.RecordBatch]]:
    """Shorthand for ``DatabaseGenerator(config, seed, chunk_rows).batches()``."""
    return DatabaseGenerator(config, seed, chunk_rows).batches()
