"""Render batches as readable tables: what the model sees, for people.

Used by ``plurel-sql sample``. Standardized values are mapped back to the
stored scale, class indexes to labels, timestamps to ISO dates; the masked
target cell shows as ``[MASK]`` and its true value is given in the header.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from plurel_sql.loader.layout import SEM_BOOLEAN, SEM_DATETIME, SEM_NUMBER, CellSpec, DbLayout
from plurel_sql.loader.tasks import Task


def _cell_index(layout: DbLayout) -> dict[int, tuple[str, CellSpec]]:
    return {c.col_idx: (t.name, c) for t in layout.tables for c in t.cells}


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(int(round(seconds)), UTC).strftime("%Y-%m-%d %H:%M:%S")


def cell_text(spec: CellSpec, sem: int, number: float, dt: float, boolean: float, cls: int) -> str:
    """One cell's value on its stored scale."""
    if sem == SEM_NUMBER:
        return f"{number * spec.std + spec.mean:.4g}"
    if sem == SEM_DATETIME:
        return _iso(dt * spec.std + spec.mean)
    if sem == SEM_BOOLEAN:
        # z-scored under sampler="rustler"; mean 0, std 1 (the value itself) otherwise
        return "true" if boolean * spec.std + spec.mean > 0.5 else "false"
    return spec.labels[cls] if 0 <= cls < len(spec.labels) else "?"


def target_text(spec: CellSpec, value: float) -> str:
    sem = spec.sem_type
    return cell_text(spec, sem, value, value, value, int(value))


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    fmt = lambda r: "  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip()  # noqa: E731
    return [fmt(header), fmt(["-" * w for w in widths]), *(fmt(r) for r in rows)]


def decode_sequence(
    batch: dict[str, np.ndarray], i: int, layout: DbLayout, task: Task, db_label: str = ""
) -> str:
    """Sequence ``i`` of ``batch`` as text: a header, then one table per table."""
    cells = _cell_index(layout)
    pad = batch["is_padding"][i]
    used = int((~pad).sum())
    nodes = batch["node_idxs"][i]
    col = batch["col_name_idxs"][i]
    t_pos = np.nonzero(batch["is_targets"][i])[0]
    tspec = layout.table(task.table).cell(task.column)
    seed_node = int(batch["seed_node_idxs"][i])
    seed_row = seed_node - layout.table(task.table).node_offset
    lines = [
        f"context {i}: task {task.name} ({task.kind}){' in ' + db_label if db_label else ''}",
        f"  seed row {task.table}[{seed_row}], target {task.column} = "
        f"{target_text(tspec, float(batch['target_values'][i]))} (masked at position "
        f"{int(t_pos[0]) if len(t_pos) else '?'}), {used} of {len(pad)} cells used",
    ]
    # rows in order of first appearance, grouped by table
    order: dict[str, list[int]] = {}
    row_cells: dict[int, dict[str, str]] = {}
    for p in np.nonzero(~pad)[0].tolist():
        table, spec = cells[int(col[p])]
        node = int(nodes[p])
        if node not in row_cells:
            row_cells[node] = {}
            order.setdefault(table, []).append(node)
        if batch["is_targets"][i, p]:
            text = "[MASK]"
        else:
            text = cell_text(
                spec,
                int(batch["sem_types"][i, p]),
                float(batch["number_values"][i, p, 0]),
                float(batch["datetime_values"][i, p, 0]),
                float(batch["boolean_values"][i, p, 0]),
                int(batch["class_value_idxs"][i, p]),
            )
        row_cells[node][spec.column] = text
    for table, node_list in order.items():
        tl = layout.table(table)
        header = ["row_idx", *(c.column for c in tl.cells)]
        rows = [
            [str(n - tl.node_offset) + (" *" if n == seed_node else "")]
            + [row_cells[n].get(c.column, "") for c in tl.cells]
            for n in node_list
        ]
        lines += ["", f"  {table} ({len(node_list)} rows)"]
        lines += ["  " + line for line in _table(header, rows)]
    return "\n".join(lines)
