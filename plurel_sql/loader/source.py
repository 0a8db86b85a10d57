"""Seed rows of a split over many databases, shuffled per epoch and sharded.

:class:`ContextSource` is everything the torch dataset does except torch: it
opens the databases, resolves the tasks, lists every (database, task, seed row)
item of the split, orders them with a generator keyed by (seed, epoch), cuts
the order into batches and builds batch ``b`` on request. Batch ``b`` belongs
to shard ``b % num_shards``, so DataLoader workers and distributed ranks see
disjoint batches that together cover every item exactly once per epoch.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from plurel_sql.errors import PlurelError
from plurel_sql.loader.hashing import sequence_salt
from plurel_sql.loader.meta import Database, open_database
from plurel_sql.loader.sampler import (
    BatchSampler,
    DbSampler,
    SamplerFactory,
    SeedRows,
    check_sizes,
)
from plurel_sql.loader.tasks import Task, TaskError, check_split, check_untimed, split_rows, tasks
from plurel_sql.rng import Draw, stream

TaskSpec = str | Task | tuple[int, str]
SAMPLERS = ("plurel", "rustler")


def sampler_factory(sampler: str | SamplerFactory) -> SamplerFactory:
    """The sampler class named ``sampler`` ("plurel": ours, the default; "rustler":
    the reference's rules), or ``sampler`` itself when it is already a factory."""
    if isinstance(sampler, str):
        if sampler == "plurel":
            return DbSampler
        if sampler == "rustler":
            from plurel_sql.loader.rustler import RustlerSampler

            return RustlerSampler
        raise PlurelError(f"unknown sampler {sampler!r}: expected one of {', '.join(SAMPLERS)}")
    return sampler


@dataclass
class Items:
    """Every seed row of the split: database, task (index into the task list), row, as-of."""

    db: np.ndarray
    task: np.ndarray
    row: np.ndarray
    asof: np.ndarray

    def __len__(self) -> int:
        return len(self.row)


def _as_databases(dbs: str | Database | Sequence[str | Database]) -> list[Database]:
    if isinstance(dbs, str | Database):
        dbs = [dbs]
    if not dbs:
        raise PlurelError("no database given: pass a URL, a Database or a list of them")
    return [d if isinstance(d, Database) else open_database(d) for d in dbs]


def resolve_tasks(
    dbs: list[Database], wanted: Sequence[TaskSpec] | None, untimed_split: str
) -> list[tuple[int, Task]]:
    """(database index, task) pairs: all tasks, or the named ones wherever they exist."""
    per_db = [tasks(db, untimed_split) for db in dbs]
    if wanted is None:
        return [(i, t) for i, ts in enumerate(per_db) for t in ts]
    if isinstance(wanted, str | Task):
        wanted = [wanted]
    out: list[tuple[int, Task]] = []
    for spec in wanted:
        if isinstance(spec, tuple):
            i, name = spec
            if not (isinstance(i, int) and 0 <= i < len(dbs)):
                raise TaskError(f"task {spec!r}: database index out of range 0..{len(dbs) - 1}")
            found = [(i, t) for t in per_db[i] if t.name == name]
        else:
            name = spec.name if isinstance(spec, Task) else str(spec)
            found = [(i, t) for i, ts in enumerate(per_db) for t in ts if t.name == name]
        if not found:
            some = ", ".join(t.name for t in per_db[0][:4])
            raise TaskError(f"unknown task {name!r}: expected TABLE.COLUMN, e.g. {some}")
        out += [f for f in found if f not in out]
    return out


class ContextSource:
    """Numpy batches of contexts for one split of one or many databases."""

    def __init__(
        self,
        dbs: str | Database | Sequence[str | Database],
        tasks: Sequence[TaskSpec] | None = None,
        split: str = "train",
        ctx_len: int = 1024,
        max_width: int = 128,
        batch_size: int = 32,
        seed: int = 0,
        *,
        sampler: str | SamplerFactory = DbSampler,
        untimed_split: str = "train",
        drop_last: bool = False,
        prefetch: int = 16,
        wrap: bool | None = None,
    ) -> None:
        check_sizes(ctx_len, max_width, batch_size)
        # wrap-around (the last batch filled to full size from the epoch's first
        # items, marked in ``is_wrapped``) is the reference's; default: rustler only
        self.wrap = (sampler == "rustler") if wrap is None else bool(wrap)
        sampler = sampler_factory(sampler)
        if isinstance(prefetch, bool) or not isinstance(prefetch, int) or prefetch < 1:
            raise PlurelError(f"prefetch must be an integer >= 1, got {prefetch!r}")
        self.prefetch = prefetch
        self.split = check_split(split)
        check_untimed(untimed_split)
        self.dbs = _as_databases(dbs)
        self.task_list = resolve_tasks(self.dbs, tasks, untimed_split)
        self.ctx_len, self.max_width, self.batch_size = ctx_len, max_width, batch_size
        self.seed, self.drop_last = int(seed), drop_last
        self.samplers = [sampler(db, ctx_len, max_width) for db in self.dbs]
        self.batcher = BatchSampler(self.samplers, ctx_len)
        self.items = self._collect(untimed_split)
        self._target_slot = np.array(
            [self.samplers[d].layout.table(t.table).slot(t.column) for d, t in self.task_list],
            dtype=np.int64,
        )
        self._tab = np.array(
            [self.samplers[d].layout.table(t.table).idx for d, t in self.task_list], dtype=np.int64
        )
        self._perm_epoch: int | None = None
        self._perm = np.zeros(0, np.int64)

    def _collect(self, untimed_split: str) -> Items:
        parts: list[tuple[np.ndarray, ...]] = []
        for k, (d, task) in enumerate(self.task_list):
            rows, asof = split_rows(self.dbs[d], task, self.split, untimed_split)
            n = len(rows)
            parts.append((np.full(n, d, np.int64), np.full(n, k, np.int64), rows, asof))
        if not parts or sum(len(p[0]) for p in parts) == 0:
            raise PlurelError(f"no seed rows in split {self.split!r} for the chosen tasks")
        return Items(*(np.concatenate([p[i] for p in parts]) for i in range(4)))

    @property
    def num_batches(self) -> int:
        n = len(self.items) / self.batch_size
        return math.floor(n) if self.drop_last else math.ceil(n)

    def order(self, epoch: int) -> np.ndarray:
        """The item order of ``epoch`` (a permutation keyed by seed and epoch)."""
        if self._perm_epoch != epoch:
            self._perm = stream(self.seed, Draw.LOADER, Draw.EPOCH, int(epoch)).permutation(
                len(self.items)
            )
            self._perm_epoch = epoch
        return self._perm

    def batch_items(self, epoch: int, b: int) -> np.ndarray:
        if self.wrap:
            at = np.arange(b * self.batch_size, (b + 1) * self.batch_size) % len(self.items)
            return self.order(epoch)[at]
        return self.order(epoch)[b * self.batch_size : (b + 1) * self.batch_size]

    def _mark_wrapped(self, batch: dict[str, np.ndarray], bs: list[int]) -> None:
        """``is_wrapped``: the sequences repeated from the epoch's start to fill a
        last batch (wrap-around only); ``true_batch_size`` = count of False."""
        if self.wrap:
            at = np.concatenate(
                [np.arange(b * self.batch_size, (b + 1) * self.batch_size) for b in bs]
            )
            batch["is_wrapped"] = at >= len(self.items)

    def seeds(self, epoch: int, idx: np.ndarray) -> SeedRows:
        it = self.items
        db, task, row = it.db[idx], it.task[idx], it.row[idx]
        return SeedRows(
            db=db,
            tab=self._tab[task],
            row=row,
            asof=it.asof[idx],
            salt=sequence_salt(self.seed, epoch, db, task, row),
            target_slot=self._target_slot[task],
            task_idx=task,
        )

    def batch(self, epoch: int, b: int) -> dict[str, np.ndarray]:
        """Batch ``b`` of ``epoch`` (the last one may be smaller)."""
        if not 0 <= b < self.num_batches:
            raise PlurelError(f"batch index {b} out of range 0..{self.num_batches - 1}")
        out = self.batcher.sample(self.seeds(epoch, self.batch_items(epoch, b)))
        self._mark_wrapped(out, [b])
        return out

    def shard_batches(self, shard: int, num_shards: int) -> range:
        return range(shard, self.num_batches, num_shards)

    def iter_batches(
        self, epoch: int, shard: int = 0, num_shards: int = 1
    ) -> Iterator[dict[str, np.ndarray]]:
        """This shard's batches of ``epoch``, in order.

        ``prefetch`` batches are sampled together (one walk, one fetch per table)
        and then split: a context depends only on its own seed row and salt, so
        grouping changes nothing but the number of queries per context.
        """
        mine = list(self.shard_batches(shard, num_shards))
        for i in range(0, len(mine), self.prefetch):
            group = mine[i : i + self.prefetch]
            idx = [self.batch_items(epoch, b) for b in group]
            big = self.batcher.sample(self.seeds(epoch, np.concatenate(idx)))
            self._mark_wrapped(big, group)
            start = 0
            for ix in idx:
                yield {k: v[start : start + len(ix)] for k, v in big.items()}
                start += len(ix)

    def close(self) -> None:
        self.batcher.close()
