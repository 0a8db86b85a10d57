"""Independent, addressable random streams derived from one seed.

Every random draw in plurel-sql comes from a generator built here from the database
seed and a tuple of keys naming *what* is being drawn, e.g.
``stream(seed, "scm", "table_3", "node", 7, "block", 12)``. Because streams are keyed
by name instead of being consumed from one shared sequence, values do not depend on
chunk size, table order, engine or worker count.
"""

from __future__ import annotations

import hashlib

import numpy as np


def _key_to_int(key: str | int) -> int:
    if isinstance(key, bool) or not isinstance(key, (int, str)):
        raise TypeError(f"stream keys must be str or int, got {type(key).__name__}")
    if isinstance(key, int):
        if key < 0:
            raise ValueError("stream keys must be non-negative integers")
        return key
    digest = hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def seed_sequence(seed: int, *keys: str | int) -> np.random.SeedSequence:
    """The SeedSequence of the stream named by ``keys`` under ``seed``."""
    # Tag strings and ints differently so ("1",) and (1,) never collide.
    entropy = [int(seed)]
    for key in keys:
        entropy.append(_key_to_int(key))
        entropy.append(1 if isinstance(key, str) else 0)
    return np.random.SeedSequence(entropy)


def stream(seed: int, *keys: str | int) -> np.random.Generator:
    """A numpy Generator for the stream named by ``keys`` under ``seed``."""
    return np.random.Generator(np.random.PCG64(seed_sequence(seed, *keys)))
