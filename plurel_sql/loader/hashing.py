"""Deterministic pseudo-random keys shared by the SQL and the numpy side of the walk.

``node_hash`` is the arithmetic the dialects write into SQL
(:meth:`Dialect.hash_sql`); computing the same numbers in numpy lets the walk
order new rows exactly as the engine ranks them (and the tests' in-memory
references pick the same rows), and makes the width cap reproducible on every
engine. ``sequence_salt`` keys one context by
(seed, epoch, database, task, seed row) so another epoch samples other children.
"""

from __future__ import annotations

import numpy as np

from plurel_sql.dialects.loader_sql import HASH_A, HASH_B, HASH_D, HASH_P

_MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def node_hash(salt: np.ndarray | int, node: np.ndarray | int) -> np.ndarray:
    """The hash of node ids ``node`` under ``salt`` (int64 in [0, P))."""
    s = np.asarray(salt, dtype=np.int64)
    r = np.asarray(node, dtype=np.int64)
    h1 = (r * HASH_A + s * HASH_B) % HASH_P
    h2 = (h1 * h1 + r) % HASH_P
    return (h2 * HASH_D + s) % HASH_P


def _splitmix(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        z = (x + np.uint64(0x9E3779B97F4A7C15)) & _MASK64
        z = ((z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)) & _MASK64
        z = ((z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)) & _MASK64
        return z ^ (z >> np.uint64(31))


def sequence_salt(
    seed: int, epoch: int, db_idx: np.ndarray, task_idx: np.ndarray, row: np.ndarray
) -> np.ndarray:
    """Per-sequence salt in [0, 2**31 - 1) from its identity and (seed, epoch)."""
    z = _splitmix(np.full(np.shape(row), np.uint64(seed & 0xFFFFFFFFFFFFFFFF)))
    for part in (np.uint64(epoch & 0xFFFFFFFFFFFFFFFF), db_idx, task_idx, row):
        z = _splitmix(z ^ np.asarray(part).astype(np.uint64))
    return (z % np.uint64(HASH_P)).astype(np.int64)
