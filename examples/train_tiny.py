"""Pretrain a tiny relational transformer on 4 generated databases, on CPU.

Generates 4 small PluRel databases (DuckDB files), builds one ContextDataset over
all their tasks, and trains a 2-layer transformer for a few hundred steps to
predict the masked cell: cross-entropy for classification tasks, squared error
(on the standardized value) for regression tasks. The printed loss falls.

    python examples/train_tiny.py [--steps 300] [--dir /tmp/plurel-tiny]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader

import plurel_sql

SMALL = {
    "num_tables": [3, 5],
    "entity_rows": [100, 200],
    "activity_rows": [500, 1000],
    "feature_columns": [3, 8],
}
MAX_CLASSES = 16


def generate(directory: Path, seeds: list[int]) -> list[str]:
    """One DuckDB database per seed (kept when already there)."""
    directory.mkdir(parents=True, exist_ok=True)
    urls = []
    for seed in seeds:
        path = directory / f"db{seed}.duckdb"
        url = f"duckdb:///{path}"
        if not path.exists():
            plurel_sql.generate(url, seed=seed, config={"database": SMALL}, chunk_rows=4096)
        urls.append(url)
    return urls


class TinyRT(nn.Module):
    """Cells -> embeddings (column, type, value, mask) -> transformer -> target cell."""

    def __init__(self, num_columns: int, d: int = 32) -> None:
        super().__init__()
        self.col = nn.Embedding(num_columns, d)
        self.sem = nn.Embedding(4, d)
        self.cls = nn.Embedding(MAX_CLASSES + 1, d)  # +1: "no class"
        self.val = nn.Linear(3, d)
        self.mask = nn.Parameter(torch.zeros(d))
        layer = nn.TransformerEncoderLayer(d, 4, 2 * d, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        self.reg_head = nn.Linear(d, 1)
        self.cls_head = nn.Linear(d, MAX_CLASSES)

    def forward(self, b: dict[str, torch.Tensor], col_ids: torch.Tensor) -> tuple:
        values = torch.cat([b["number_values"], b["datetime_values"], b["boolean_values"]], -1)
        cls = (b["class_value_idxs"] + 1).clamp(0, MAX_CLASSES)
        x = self.col(col_ids) + self.sem(b["sem_types"]) + self.val(values) + self.cls(cls)
        x = torch.where(b["masks"][..., None], x + self.mask, x)
        h = self.encoder(x, src_key_padding_mask=b["is_padding"])
        target = h[b["is_targets"]]  # one cell per sequence, in batch order
        return self.reg_head(target).squeeze(-1), self.cls_head(target)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--dir", default="/tmp/plurel-tiny")
    args = p.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(1)  # tiny model: one thread; the 2 loader workers use the rest
    t0 = time.perf_counter()
    urls = generate(Path(args.dir), seeds=[11, 12, 13, 14])
    ds = plurel_sql.ContextDataset(
        urls, split="train", ctx_len=64, max_width=16, batch_size=32, seed=0
    )
    n_items = ds.num_seed_rows
    took = time.perf_counter() - t0
    print(f"{len(urls)} databases, {len(ds.task_list)} tasks, {n_items} seed rows ({took:.0f}s)")
    # column ids unique across databases: offset each database's column vocabulary
    sizes = [len(names) for names in ds.column_names]
    col_offset = torch.tensor([sum(sizes[:i]) for i in range(len(sizes))])
    is_reg = torch.tensor([t.kind == "regression" for _, t in ds.task_list])
    model = TinyRT(sum(sizes))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    step, epoch, window = 0, 0, []
    while step < args.steps:
        ds.set_epoch(epoch)
        for b in DataLoader(ds, batch_size=None, num_workers=2):
            col_ids = b["col_name_idxs"] + col_offset[b["db_idxs"]][:, None]
            reg_out, cls_out = model(b, col_ids)
            reg = is_reg[b["task_idxs"]]
            y = b["target_values"]
            loss = torch.zeros(())
            if reg.any():
                loss = loss + ((reg_out[reg] - y[reg]) ** 2).clamp(max=25).sum()
            if (~reg).any():
                labels = y[~reg].long().clamp(0, MAX_CLASSES - 1)
                loss = loss + nn.functional.cross_entropy(cls_out[~reg], labels, reduction="sum")
            loss = loss / len(y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            window.append(loss.item())
            step += 1
            if step % 25 == 0:
                print(f"step {step:4d}  epoch {epoch}  loss {sum(window) / len(window):.4f}",
                      flush=True)  # fmt: skip
                window = []
            if step >= args.steps:
                break
        epoch += 1
    print(f"done in {time.perf_counter() - t0:.0f}s")


if __name__ == "__main__":
    main()
