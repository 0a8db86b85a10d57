"""The loader's view of one database: node ids, vocabularies and cell layouts.

Derived from the schema IR alone (plus the cached column statistics), so it is
identical in every process and for every engine:

* node id of a row = ``node_offset[table] + row_idx`` (tables in schema order),
  unique within the database;
* table index = position in the schema; column index = position in the
  database's list of (table, cell column) pairs;
* a row becomes one cell per feature column plus one for its time column, in
  stored column order; primary and foreign keys are structure, not cells.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from plurel_sql.dialects.loader_sql import EdgeSpec
from plurel_sql.schema.ir import Schema, Table

SEM_NUMBER = 0
SEM_TEXT = 1
SEM_DATETIME = 2
SEM_BOOLEAN = 3
SEM_NAMES = {
    SEM_NUMBER: "number",
    SEM_TEXT: "text",
    SEM_DATETIME: "datetime",
    SEM_BOOLEAN: "boolean",
}
MAX_F2P = 5  # parent ids per cell, as in the Relational Transformer


@dataclass(frozen=True)
class CellSpec:
    """One cell column of a table: its name, database-wide index and type."""

    column: str
    col_idx: int
    sem_type: int
    mean: float = 0.0
    std: float = 1.0
    labels: tuple[str, ...] = ()


@dataclass
class TableLayout:
    """How the rows of one table turn into nodes and cells."""

    table: Table
    idx: int
    node_offset: int
    cells: list[CellSpec]
    fk_columns: list[str]
    parent_idxs: list[int]

    @property
    def width(self) -> int:
        return len(self.cells)

    @property
    def name(self) -> str:
        return self.table.name

    def cell(self, column: str) -> CellSpec:
        return self.cells[self.slot(column)]

    def slot(self, column: str) -> int:
        """Position of ``column`` among this table's cells."""
        for i, c in enumerate(self.cells):
            if c.column == column:
                return i
        raise KeyError(column)


@dataclass
class DbLayout:
    """All table layouts of a database plus its foreign-key edges."""

    tables: list[TableLayout]
    edges: list[EdgeSpec]
    num_nodes: int
    column_names: list[tuple[str, str]] = field(default_factory=list)

    def table(self, name: str) -> TableLayout:
        for t in self.tables:
            if t.name == name:
                return t
        raise KeyError(name)

    @property
    def widths(self) -> list[int]:
        return [t.width for t in self.tables]


def build_layout(schema: Schema, stats: dict[tuple[str, str], tuple[float, float]]) -> DbLayout:
    """The layout of ``schema``; ``stats`` maps (table, column) to (mean, std)."""
    index = {t.name: i for i, t in enumerate(schema.tables)}
    tables: list[TableLayout] = []
    edges: list[EdgeSpec] = []
    names: list[tuple[str, str]] = []
    offset = 0
    for i, t in enumerate(schema.tables):
        cells = []
        for c in t.cell_columns:
            sem = {"numeric": SEM_NUMBER, "boolean": SEM_BOOLEAN, "categorical": SEM_TEXT}[c.kind]
            mean, std = stats.get((t.name, c.name), (0.0, 1.0))
            labels = tuple(c.labels or ()) if c.kind == "categorical" else ()
            cells.append(CellSpec(c.name, len(names), sem, mean, std, labels))
            names.append((t.name, c.name))
        if t.time_column:
            mean, std = stats.get((t.name, t.time_column), (0.0, 1.0))
            cells.append(CellSpec(t.time_column, len(names), SEM_DATETIME, mean, std))
            names.append((t.name, t.time_column))
        tables.append(
            TableLayout(
                table=t,
                idx=i,
                node_offset=offset,
                cells=cells,
                fk_columns=[fk.column for fk in t.foreign_keys],
                parent_idxs=[index[fk.parent] for fk in t.foreign_keys],
            )
        )
        offset += t.num_rows
        for fk in t.foreign_keys:
            p = schema.table(fk.parent)
            edges.append(
                EdgeSpec(
                    t.name,
                    i,
                    fk.column,
                    p.name,
                    index[p.name],
                    t.time_column,
                    p.time_column,
                    child_pk=t.row_key,
                    parent_pk=p.row_key,
                )
            )
    return DbLayout(tables=tables, edges=edges, num_nodes=offset, column_names=names)
