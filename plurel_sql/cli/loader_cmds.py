"""``plurel-sql tasks`` and ``plurel-sql sample``: look at what the loader serves.

``tasks URL`` lists every task with its train/validation/test sizes;
``sample URL --task TABLE.COLUMN --n 2`` prints decoded contexts as tables.
Neither needs torch.
"""

from __future__ import annotations

import argparse

from plurel_sql.errors import PlurelError


def _positive(name: str, low: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be an integer, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"{name} must be >= {low}, got {value}")
        return value

    return parse


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "tasks", help="list the tasks of a generated database with split sizes"
    )
    p.add_argument("url", help="database URL, e.g. duckdb:///plurel.duckdb")
    p.add_argument(
        "--untimed-split",
        default="train",
        choices=["train", "val", "test", "none"],
        help="split of rows of tables without time (default: train)",
    )
    p.set_defaults(handler=run_tasks)

    s = subparsers.add_parser("sample", help="print decoded contexts the dataloader would yield")
    s.add_argument("url", help="database URL")
    s.add_argument("--task", required=True, help="TABLE.COLUMN (see `plurel-sql tasks URL`)")
    s.add_argument("--n", type=_positive("--n", 1), default=2, help="contexts to print (default 2)")
    s.add_argument("--split", default="train", choices=["train", "val", "test"])
    s.add_argument("--ctx-len", type=_positive("--ctx-len", 2), default=1024)
    s.add_argument("--max-width", type=_positive("--max-width", 1), default=128)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--epoch", type=_positive("--epoch", 0), default=0)
    s.add_argument("--untimed-split", default="train", choices=["train", "val", "test", "none"])
    s.set_defaults(handler=run_sample)


def run_tasks(args: argparse.Namespace) -> int:
    from plurel_sql.loader import open_database

    db = open_database(args.url)
    rows = [
        (t.name, t.kind, str(t.sizes["train"]), str(t.sizes["val"]), str(t.sizes["test"]))
        for t in db.tasks(args.untimed_split)
    ]
    header = ("task", "kind", "train", "val", "test")
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)
    ]
    for r in [header, *rows]:
        print(
            "  ".join(
                v.ljust(w) if i < 2 else v.rjust(w)
                for i, (v, w) in enumerate(zip(r, widths, strict=True))
            )
        )
    print(f"{len(rows)} tasks in {db.name}")
    return 0


def run_sample(args: argparse.Namespace) -> int:
    from plurel_sql.loader import open_database
    from plurel_sql.loader.decode import decode_sequence
    from plurel_sql.loader.source import ContextSource

    db = open_database(args.url)
    src = ContextSource(
        db, [args.task], args.split, args.ctx_len, args.max_width,
        batch_size=args.n, seed=args.seed, untimed_split=args.untimed_split,
    )  # fmt: skip
    try:
        batch = src.batch(args.epoch, 0)
    finally:
        src.close()
    layout = src.samplers[0].layout
    n = int((batch["task_idxs"] >= 0).sum())
    if n == 0:
        raise PlurelError(f"no seed rows for {args.task} in split {args.split}")
    for i in range(n):
        _, task = src.task_list[int(batch["task_idxs"][i])]
        print(decode_sequence(batch, i, layout, task))
        print()
    return 0
