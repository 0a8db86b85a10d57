"""Turn selected rows into the batch arrays a relational transformer consumes.

Field names and meanings follow the Relational Transformer's sampler; see
docs/batch-format.md. Arrays are numpy here; the torch dataset wraps them
without copying.
"""

from __future__ import annotations

import numpy as np

from plurel_sql.dialects.sampling_base import NO_TIME
from plurel_sql.loader.content import RowContent
from plurel_sql.loader.layout import MAX_F2P, SEM_BOOLEAN, SEM_NUMBER, SEM_TEXT, DbLayout
from plurel_sql.loader.walk import SeedBatch, WalkResult

CELL_FIELDS = (
    "node_idxs",
    "f2p_nbr_idxs",
    "table_name_idxs",
    "col_name_idxs",
    "sem_types",
    "number_values",
    "datetime_values",
    "boolean_values",
    "class_value_idxs",
    "masks",
    "is_targets",
    "is_task_nodes",
    "is_padding",
    "timestamps",
)
SEQ_FIELDS = ("target_values", "task_idxs", "db_idxs", "seed_node_idxs")


def empty_batch(batch_size: int, ctx_len: int) -> dict[str, np.ndarray]:
    """A batch of padding only; samplers fill it sequence by sequence."""
    shape = (batch_size, ctx_len)
    return {
        "node_idxs": np.full(shape, -1, np.int64),
        "f2p_nbr_idxs": np.full((*shape, MAX_F2P), -1, np.int64),
        "table_name_idxs": np.zeros(shape, np.int64),
        "col_name_idxs": np.zeros(shape, np.int64),
        "sem_types": np.zeros(shape, np.int64),
        "number_values": np.zeros((*shape, 1), np.float32),
        "datetime_values": np.zeros((*shape, 1), np.float32),
        "boolean_values": np.zeros((*shape, 1), np.float32),
        "class_value_idxs": np.full(shape, -1, np.int64),
        "masks": np.zeros(shape, bool),
        "is_targets": np.zeros(shape, bool),
        "is_task_nodes": np.zeros(shape, bool),
        "is_padding": np.ones(shape, bool),
        "timestamps": np.full(shape, NO_TIME, np.int64),
        "target_values": np.zeros(batch_size, np.float32),
        "task_idxs": np.full(batch_size, -1, np.int64),
        "db_idxs": np.full(batch_size, -1, np.int64),
        "seed_node_idxs": np.full(batch_size, -1, np.int64),
    }


def assemble(
    out: dict[str, np.ndarray],
    positions: np.ndarray,
    layout: DbLayout,
    walk: WalkResult,
    contents: dict[int, RowContent],
    seeds: SeedBatch,
    db_idx: int,
) -> None:
    """Write the cells of ``walk`` into rows ``positions`` of the batch ``out``.

    Rows keep walk order, cells keep column order; the seed row's target cell
    comes first so it survives any ``ctx_len >= 1``. NULL cells are skipped.
    """
    ctx_len = out["node_idxs"].shape[1]
    wmax = max(layout.widths) + 1
    order = np.arange(len(walk.seq), dtype=np.int64)
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("key", "o", "tab", "slot", "ci")}
    gathered: dict[int, np.ndarray] = {}
    for t in np.unique(walk.tab).tolist():
        m = walk.tab == t
        ci = contents[t].take(walk.row[m])
        gathered[t] = ci
        o = order[m]
        w = layout.tables[t].width
        slot = np.broadcast_to(np.arange(w), (len(o), w))
        valid = contents[t].valid[ci]
        is_seed = walk.depth[m] == 0
        tslot = seeds.target_slot[walk.seq[m]]
        target = is_seed[:, None] & (slot == tslot[:, None])
        valid = valid | target
        key = o[:, None] * wmax + np.where(target, 0, slot + 1)
        rr = np.broadcast_to(np.arange(len(o))[:, None], (len(o), w))
        parts["key"].append(key[valid])
        parts["o"].append(np.broadcast_to(o[:, None], (len(o), w))[valid])
        parts["tab"].append(np.full(int(valid.sum()), t, np.int64))
        parts["slot"].append(slot[valid])
        parts["ci"].append(ci[rr[valid]])
    cat = {k: np.concatenate(v) for k, v in parts.items()}
    srt = np.argsort(cat["key"], kind="stable")
    cat = {k: v[srt] for k, v in cat.items()}
    cseq = walk.seq[cat["o"]]
    first = np.searchsorted(cseq, cseq, side="left")
    pos = np.arange(len(cseq)) - first
    keep = pos < ctx_len
    cat = {k: v[keep] for k, v in cat.items()}
    cseq, pos = cseq[keep], pos[keep]
    bpos = positions[cseq]
    target_col = np.array(
        [
            layout.tables[t].cells[s].col_idx
            for t, s in zip(seeds.tab, seeds.target_slot, strict=True)
        ],
        dtype=np.int64,
    )
    for t in np.unique(cat["tab"]).tolist():
        m = cat["tab"] == t
        tl = layout.tables[t]
        content = contents[t]
        ci, slot = cat["ci"][m], cat["slot"][m]
        b, p = bpos[m], pos[m]
        sem = np.array([c.sem_type for c in tl.cells], np.int64)[slot]
        col = np.array([c.col_idx for c in tl.cells], np.int64)[slot]
        vals = content.values[ci, slot]
        row_ids = content.row_idx[ci]
        depth0 = walk.depth[cat["o"][m]] == 0
        is_target = depth0 & (slot == seeds.target_slot[cseq[m]])
        out["node_idxs"][b, p] = row_ids + tl.node_offset
        out["f2p_nbr_idxs"][b, p] = content.parents[ci]
        out["table_name_idxs"][b, p] = t
        out["col_name_idxs"][b, p] = col
        out["sem_types"][b, p] = sem
        out["number_values"][b, p, 0] = np.where(sem == SEM_NUMBER, vals, 0.0)
        out["datetime_values"][b, p, 0] = np.where(sem == 2, vals, 0.0)
        out["boolean_values"][b, p, 0] = np.where(sem == SEM_BOOLEAN, vals, 0.0)
        out["class_value_idxs"][b, p] = content.classes[ci, slot]
        out["is_padding"][b, p] = False
        out["timestamps"][b, p] = content.ts[ci]
        out["is_task_nodes"][b, p] = depth0 | (col == target_col[cseq[m]])
        if is_target.any():
            tb, tp = b[is_target], p[is_target]
            tsem = sem[is_target]
            tval = np.where(
                tsem == SEM_TEXT,
                content.classes[ci, slot][is_target].astype(np.float32),
                vals[is_target],
            )
            out["target_values"][tb] = tval
            out["is_targets"][tb, tp] = True
            out["masks"][tb, tp] = True
            # the label must not be readable from the masked cell
            out["number_values"][tb, tp, 0] = 0.0
            out["datetime_values"][tb, tp, 0] = 0.0
            out["boolean_values"][tb, tp, 0] = 0.0
            out["class_value_idxs"][tb, tp] = -1
    out["task_idxs"][positions] = seeds.task_idx
    out["db_idxs"][positions] = db_idx
    seed_offsets = np.array([layout.tables[t].node_offset for t in seeds.tab.tolist()], np.int64)
    out["seed_node_idxs"][positions] = seeds.row + seed_offsets
