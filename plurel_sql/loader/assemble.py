"""Turn selected rows into the batch arrays a relational transformer consumes.

Field names and meanings follow the Relational Transformer's sampler; see
docs/batch-format.md. Arrays are numpy here; the torch dataset wraps them
without copying.
"""

from __future__ import annotations

import numpy as np

from plurel_sql.dialects.loader_sql import NO_TIME
from plurel_sql.loader.content import RowContent
from plurel_sql.loader.layout import (
    MAX_F2P,
    SEM_BOOLEAN,
    SEM_DATETIME,
    SEM_NUMBER,
    SEM_TEXT,
    DbLayout,
)
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
    Cells of all tables are gathered into flat arrays, ordered once, and each
    output field is written with a single scatter.
    """
    ctx_len = out["node_idxs"].shape[1]
    wmax = max(layout.widths) + 1
    order = np.arange(len(walk.seq), dtype=np.int64)
    target_col = np.array(
        [
            layout.tables[t].cells[s].col_idx
            for t, s in zip(seeds.tab, seeds.target_slot, strict=True)
        ],
        dtype=np.int64,
    )
    f: dict[str, list[np.ndarray]] = {
        k: [] for k in ("key", "o", "node", "par", "tab", "col", "sem", "val", "cls", "ts", "tgt")
    }
    present = np.nonzero(np.bincount(walk.tab, minlength=len(layout.tables)))[0]
    for t in present.tolist():
        m = walk.tab == t
        tl, content = layout.tables[t], contents[t]
        ci = content.take(walk.row[m])
        o = order[m]
        w = tl.width
        slot = np.arange(w)
        target = (walk.depth[m] == 0)[:, None] & (slot == seeds.target_slot[walk.seq[m]][:, None])
        valid = content.valid[ci] | target
        rr, ss = np.nonzero(valid)  # row-major: cells of a row stay together
        f["key"].append(o[rr] * wmax + np.where(target[rr, ss], 0, ss + 1))
        f["o"].append(o[rr])
        f["node"].append(content.row_idx[ci][rr] + tl.node_offset)
        f["par"].append(content.parents[ci][rr])
        f["tab"].append(np.full(len(rr), t, np.int64))
        f["col"].append(np.array([c.col_idx for c in tl.cells], np.int64)[ss])
        f["sem"].append(np.array([c.sem_type for c in tl.cells], np.int64)[ss])
        f["val"].append(content.values[ci][rr, ss])
        f["cls"].append(content.classes[ci][rr, ss])
        f["ts"].append(content.ts[ci][rr])
        f["tgt"].append(target[rr, ss])
    cat = {k: np.concatenate(v) for k, v in f.items()}
    srt = np.argsort(cat["key"], kind="stable")
    cseq = walk.seq[cat["o"][srt]]
    pos = np.arange(len(cseq)) - np.searchsorted(cseq, cseq, side="left")
    keep = pos < ctx_len
    srt, cseq, pos = srt[keep], cseq[keep], pos[keep]
    cat = {k: v[srt] for k, v in cat.items()}
    flat = positions[cseq] * ctx_len + pos
    sem, val, col = cat["sem"], cat["val"], cat["col"]
    tgt = cat["tgt"]
    depth0 = walk.depth[cat["o"]] == 0

    def put(name: str, values: np.ndarray) -> None:
        arr = out[name]
        arr.reshape(-1, *arr.shape[2:])[flat] = values.reshape(len(flat), *arr.shape[2:])

    put("node_idxs", cat["node"])
    put("f2p_nbr_idxs", cat["par"])
    put("table_name_idxs", cat["tab"])
    put("col_name_idxs", col)
    put("sem_types", sem)
    put("number_values", np.where((sem == SEM_NUMBER) & ~tgt, val, 0.0).astype(np.float32))
    put("datetime_values", np.where((sem == SEM_DATETIME) & ~tgt, val, 0.0).astype(np.float32))
    put("boolean_values", np.where((sem == SEM_BOOLEAN) & ~tgt, val, 0.0).astype(np.float32))
    put("class_value_idxs", np.where(tgt, -1, cat["cls"]))
    put("is_padding", np.zeros(len(flat), bool))
    put("timestamps", cat["ts"])
    put("is_task_nodes", depth0 | (col == target_col[cseq]))
    put("is_targets", tgt)
    put("masks", tgt)
    # per-sequence label: the target cell's value before masking
    tb = positions[cseq[tgt]]
    out["target_values"][tb] = np.where(
        sem[tgt] == SEM_TEXT, cat["cls"][tgt].astype(np.float32), val[tgt]
    )
    out["task_idxs"][positions] = seeds.task_idx
    out["db_idxs"][positions] = db_idx
    seed_offsets = np.array([layout.tables[t].node_offset for t in seeds.tab.tolist()], np.int64)
    out["seed_node_idxs"][positions] = seeds.row + seed_offsets
