"""Stage 2 for whole tables: every foreign key's parent rows, with the constraints
that involve several rows (docs/schemas.md, "Keys and links").

A *link* is one drawn foreign key: for each child row, the parent row it points at
(-1 for NULL), stored in the table's column buffer under ``LINK + key``. Its values
in the table are the parent's key values at that row. Foreign keys implied by a
wider one (lineitem -> part through lineitem -> partsupp) are not drawn: the wider
key's values satisfy them.

Order of work per table: the block model per RNG block (a self reference scaled to
earlier rows: a forest), NULLs of nullable keys, distinct tuples where a UNIQUE or
one-to-one key needs them, then the per-group sequences of composite keys.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from plurel_sql.config import Config
from plurel_sql.generator.arrow import int64_array, with_nulls
from plurel_sql.generator.columns import ColumnStore
from plurel_sql.generator.connectivity import (
    RNG_BLOCK_ROWS,
    BlockModel,
    assign_parents,
    parents_of,
    sample_block_model,
)
from plurel_sql.generator.keys import forest_links, group_sequence, make_distinct, row_values
from plurel_sql.generator.postprocess import null_count
from plurel_sql.rng import Draw, Name, stream
from plurel_sql.sampling import draw_float
from plurel_sql.schema.arrow import arrow_type
from plurel_sql.schema.build import driving_foreign_keys
from plurel_sql.schema.ir import ForeignKey, Schema, Table
from plurel_sql.schema.keys import KeyPlan, plan_keys

LINK = "\x00link:"
SEQUENCE = "\x00seq:"


@dataclass
class Link:
    fk: ForeignKey
    key: str  # stream and buffer key: the child columns joined
    parent_rows: int
    self_reference: bool

    @property
    def feeds_scm(self) -> bool:
        """Whether the parent's rows exist before this table's (cycle-closing keys
        and self references are filled in after)."""
        return not (self.fk.closes_cycle or self.self_reference)


def link_key(fk: ForeignKey) -> str:
    return "\x1f".join(fk.columns)


def table_links(table: Table, schema: Schema) -> list[Link]:
    """The drawn foreign keys of ``table`` (not those implied by a wider one)."""
    by_name = {t.name: t for t in schema.tables}
    return [
        Link(fk, link_key(fk), by_name[fk.parent].num_rows, fk.parent == table.name)
        for fk in driving_foreign_keys(table, by_name)
    ]


def draw_links(
    table: Table, links: list[Link], config: Config, seed: int, store: ColumnStore
) -> KeyPlan:
    """Draw every link of ``table`` into ``store`` (see the module docstring)."""
    n = table.num_rows
    models: dict[str, BlockModel] = {
        link.key: sample_block_model(
            config.connectivity,
            n if link.self_reference else link.parent_rows,
            n,
            stream(seed, Draw.FOREIGN_KEY, Name(table.name), Name(link.key), Draw.BLOCK_MODEL),
        )
        for link in links
    }
    for block, start in enumerate(range(0, n, RNG_BLOCK_ROWS)):
        stop = min(start + RNG_BLOCK_ROWS, n)
        for link in links:
            rng = stream(
                seed, Draw.FOREIGN_KEY, Name(table.name), Name(link.key), Draw.ROW_BLOCK, block
            )
            rows = assign_parents(models[link.key], start, stop, rng)
            if link.self_reference:
                rows = forest_links(rows, np.arange(start, stop), n)
            store.append(LINK + link.key, rows)
    plan, _problems = plan_keys(table)
    nullable = [link for link in links if all(table.column(c).nullable for c in link.fk.columns)]
    if not (nullable or plan.distinct_links or plan.one_to_one or plan.sequences):
        return plan
    arrays = {link.key: store.read(LINK + link.key).copy() for link in links}
    fraction = draw_float(
        stream(seed, Draw.FOREIGN_KEY, Name(table.name), Draw.NULL_FRACTION),
        config.database.null_fraction,
    )
    nulls = null_count(n, fraction, tuple(config.database.null_fraction))
    for link in nullable:
        rng = stream(seed, Draw.FOREIGN_KEY, Name(table.name), Name(link.key), Draw.NULLS)
        arrays[link.key][rng.choice(n, size=min(nulls, n), replace=False)] = -1
    for columns in plan.distinct_links:
        _distinct(
            table, [lk for lk in links if set(lk.fk.columns) <= set(columns)], arrays, models, seed
        )
    for index in plan.one_to_one:
        fk = table.foreign_keys[index]
        _distinct(table, [lk for lk in links if lk.fk is fk], arrays, models, seed)
    for sequence in plan.sequences:
        groups = [arrays[lk.key] for lk in links if set(lk.fk.columns) & set(sequence.group)]
        store.put(SEQUENCE + sequence.column, group_sequence(groups, 0))
    for key, values in arrays.items():
        store.put(LINK + key, values)
    return plan


def _distinct(
    table: Table,
    chosen: list[Link],
    arrays: dict[str, np.ndarray],
    models: dict[str, BlockModel],
    seed: int,
) -> None:
    if not chosen:
        return
    last = chosen[-1]

    def redraw(rows: np.ndarray, attempt: int) -> np.ndarray:
        rng = stream(
            seed, Draw.FOREIGN_KEY, Name(table.name), Name(last.key), Draw.DISTINCT, attempt
        )
        return parents_of(models[last.key], rows, rng)

    make_distinct([arrays[lk.key] for lk in chosen], [lk.parent_rows for lk in chosen], redraw)


def link_values(
    link: Link,
    parent_rows: np.ndarray,
    schema: Schema,
    kept_keys: dict[str, dict[str, pa.Array]],
    child: Table,
    seed: int,
) -> dict[str, pa.Array]:
    """The child's foreign-key columns for ``parent_rows`` (-1 -> NULL): the
    parent's key values at those rows, in the child columns' types."""
    parent = schema.table(link.fk.parent)
    valid = parent_rows >= 0
    rows = np.where(valid, parent_rows, 0)
    generated = plan_keys(parent)[0].row_numbers
    out = {}
    for column, key in zip(link.fk.columns, link.fk.parent_columns, strict=True):
        if key in generated:
            values = row_values(parent, parent.column(key), rows, schema, seed)
        else:
            values = kept_keys[parent.name][key].take(int64_array(rows))
        target = arrow_type(child.column(column).type)
        out[column] = with_nulls(values if values.type == target else values.cast(target), valid)
    return out
