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


def _check_key(key: str | int) -> None:
    if isinstance(key, bool) or not isinstance(key, (int, str)):
        raise TypeError(f"stream keys must be str or int, got {type(key).__name__}")
    if isinstance(key, int) and key < 0:
        raise ValueError("stream keys must be non-negative integers")


def stream(seed: int, *keys: str | int) -> np.random.Generator:
    """A numpy Generator for the stream named by ``keys`` under ``seed``.

    PCG64DXSM seeded with a 128-bit BLAKE2 hash of the seed and the keys: thousands
    of streams are created per database and some draw millions of values, and this
    was the cheapest to create and the fastest to draw of numpy's generators here.
    """
    parts = [str(int(seed))]
    for key in keys:
        _check_key(key)
        parts.append(f"s{key}" if isinstance(key, str) else f"i{key}")
    digest = hashlib.blake2b("\x1f".join(parts).encode("utf-8"), digest_size=16).digest()
    return np.random.Generator(np.random.PCG64DXSM(int.from_bytes(digest, "little")))
