"""``ContextDataset``: contexts from SQL databases as a torch IterableDataset.

This is the only loader module importing torch. Each iteration yields whole
batches (use ``DataLoader(ds, batch_size=None, num_workers=...)``). Batches are
sharded by index over (distributed rank, DataLoader worker): shard
``rank * num_workers + worker_id`` of ``world_size * num_workers`` gets batches
``shard, shard + num_shards, ...``. Call :meth:`set_epoch` before each epoch
(as with ``DistributedSampler``); the same (seed, epoch) gives the same batches
whatever the number of workers.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import torch
from torch.utils.data import IterableDataset, get_worker_info

from plurel_sql.errors import PlurelError
from plurel_sql.loader.meta import Database
from plurel_sql.loader.sampler import DbSampler, SamplerFactory
from plurel_sql.loader.source import ContextSource, TaskSpec


def to_torch(batch: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    """Wrap numpy batch arrays as tensors (no copy)."""
    return {k: torch.from_numpy(v) for k, v in batch.items()}


def _distributed() -> tuple[int, int]:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


class ContextDataset(IterableDataset):
    """Batches of relational contexts for pretraining, read straight from SQL.

    ``dbs`` is a URL, a :class:`Database` or a list of them (tasks mix across
    databases); ``tasks`` defaults to every task of every database. ``rank``
    and ``world_size`` default to torch.distributed's when it is initialized.
    ``sampler`` builds each database's sampler (a :class:`DbSampler` subclass
    can replace the walk; the tests plug in in-memory references this way), or
    names one: ``"plurel"`` (ours, :class:`DbSampler`) or ``"rustler"`` (the
    reference sampler's rules, docs/loader.md). ``wrap`` fills the last batch to
    full size from the epoch's first items (default: with ``"rustler"`` only).
    """

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
        rank: int | None = None,
        world_size: int | None = None,
        sampler: str | SamplerFactory = DbSampler,
        untimed_split: str = "train",
        drop_last: bool = False,
        prefetch: int = 16,
        wrap: bool | None = None,
    ) -> None:
        super().__init__()
        self.source = ContextSource(
            dbs,
            tasks,
            split,
            ctx_len,
            max_width,
            batch_size,
            seed,
            sampler=sampler,
            untimed_split=untimed_split,
            drop_last=drop_last,
            prefetch=prefetch,
            wrap=wrap,
        )
        if (rank is None) != (world_size is None):
            raise PlurelError("give both rank and world_size, or neither")
        if world_size is not None and not (isinstance(world_size, int) and 0 <= rank < world_size):
            raise PlurelError(
                f"rank must be in 0..world_size-1, got rank={rank}, world_size={world_size}"
            )
        self.rank, self.world_size = rank, world_size
        self.epoch = 0

    @property
    def task_list(self) -> list:
        """(database index, Task) pairs; ``task_idxs`` in batches index this list."""
        return self.source.task_list

    @property
    def databases(self) -> list[Database]:
        return self.source.dbs

    @property
    def column_names(self) -> list[list[tuple[str, str]]]:
        """Per database, the (table, column) of each index ``col_name_idxs`` takes."""
        return [s.layout.column_names for s in self.source.samplers]

    @property
    def num_seed_rows(self) -> int:
        """Seed rows (contexts) of the split over all tasks: one epoch's size."""
        return len(self.source.items)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def _rank_world(self) -> tuple[int, int]:
        if self.world_size is not None:
            return int(self.rank), int(self.world_size)  # type: ignore[arg-type]
        return _distributed()

    def __len__(self) -> int:
        """Number of batches this rank yields per epoch (over all its workers)."""
        rank, world = self._rank_world()
        return len(self.source.shard_batches(rank, world))

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        rank, world = self._rank_world()
        info = get_worker_info()
        wid, nw = (info.id, info.num_workers) if info is not None else (0, 1)
        shard, num_shards = rank * nw + wid, world * nw
        for batch in self.source.iter_batches(self.epoch, shard, num_shards):
            yield to_torch(batch)
