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
from numpy.random.bit_generator import ISeedSequence


class _DigestSeed(ISeedSequence):
    """Hands a BLAKE2 digest to the bit generator as its state words. The digest is
    already a uniform hash of the keys, so numpy's SeedSequence mixing (~30 us per
    generator, thousands of generators per database) adds nothing."""

    __slots__ = ("digest",)

    def __init__(self, digest: bytes):
        self.digest = digest

    def generate_state(self, n_words: int, dtype=np.uint32) -> np.ndarray:
        little = np.dtype(dtype).newbyteorder("<")  # the same words on any machine
        return np.frombuffer(self.digest, dtype=little, count=n_words).astype(dtype)


def _check_key(key: str | int) -> None:
    if isinstance(key, bool) or not isinstance(key, (int, str)):
        raise TypeError(f"stream keys must be str or int, got {type(key).__name__}")
    if isinstance(key, int) and key < 0:
        raise ValueError("stream keys must be non-negative integers")


def _digest(seed: int, keys: tuple[str | int, ...]) -> bytes:
    """256-bit BLAKE2b hash of the seed and the keys (the identity of a stream)."""
    parts = [str(int(seed))]
    for key in keys:
        _check_key(key)
        parts.append(f"s{key}" if isinstance(key, str) else f"i{key}")
    return hashlib.blake2b("\x1f".join(parts).encode("utf-8"), digest_size=32).digest()


def stream(seed: int, *keys: str | int) -> np.random.Generator:
    """A numpy Generator for the stream named by ``keys`` under ``seed``.

    PCG64DXSM whose 256-bit state (128-bit state + 128-bit increment) is a BLAKE2
    hash of the seed and the keys: thousands of streams are created per database and
    some draw millions of values, and this was the cheapest to create and the
    fastest to draw of numpy's generators here.
    """
    return np.random.Generator(np.random.PCG64DXSM(_DigestSeed(_digest(seed, keys))))


def key_seed(seed: int, *keys: str | int) -> int:
    """A 62-bit integer named by ``keys`` under ``seed`` (the first bits of the
    stream's hash), for the compiled kernels' own generators: no numpy Generator
    is built just to draw one number."""
    return int.from_bytes(_digest(seed, keys)[:8], "little") >> 2
