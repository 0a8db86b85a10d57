"""Independent, addressable random streams derived from one seed.

Every random draw in plurel-sql comes from a generator built here from the database
seed and a tuple of keys naming *what* is being drawn, e.g.
``stream(seed, Draw.SCM, Name("table_3"), Draw.NODE, 7, Draw.ROW_BLOCK, 12)``.
Because streams are keyed by name instead of being consumed from one shared
sequence, values do not depend on chunk size, table order, engine or worker count.

Keys are typed so that no user-supplied name can alias a built-in draw: a key is a
:class:`Draw` (what the generator draws: a fixed vocabulary), a :class:`Name` (a
table or column name, which a user's schema may spell any way it likes, e.g. a
column called ``null_fraction``) or a non-negative ``int`` (node ids, row blocks,
attempts). Each key is encoded with its type tag and its length, so the encoding of
a key tuple is injective: two different tuples never share a stream (short of a
BLAKE2b collision).
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass

import numpy as np
from numpy.random.bit_generator import ISeedSequence


class Draw(enum.Enum):
    """The built-in purposes of random streams (the generator's own vocabulary)."""

    SCHEMA = "schema"  # stage 1
    TIME_WINDOW = "time_window"
    TABLE_GRAPH = "table_graph"  # the table DAG, one stream per attempt
    TABLE = "table"  # a table's kind, rows and columns, by node of the table DAG
    ROWS = "rows"  # a table's row count (schemas from SQL files)
    FOREIGN_KEY = "foreign_key"  # stage 2
    BLOCK_MODEL = "block_model"
    ROW_BLOCK = "row_block"  # a fixed block of rows (generate.connectivity.RNG_BLOCK_ROWS)
    SCM = "scm"  # stage 3
    PLAN = "plan"
    WEIGHTS = "weights"
    NODE = "node"
    QUANTIZE = "quantize"
    PARENT_ENCODERS = "parent_encoders"
    POSTPROCESS = "postprocess"
    NULL_FRACTION = "null_fraction"
    FABRICATE = "fabricate"  # test stand-ins
    LOADER = "loader"
    RUSTLER = "rustler"  # the loader's sampler="rustler": one stream per context
    EPOCH = "epoch"
    CATEGORIES = "categories"  # users' schemas: categories of a free-text column
    NULLS = "nulls"  # which rows of a nullable foreign key are NULL
    DISTINCT = "distinct"  # redraws that make link tuples distinct, one per attempt
    KEYS = "keys"  # row-derived key values (UUIDs)
    VALUES = "values"  # plausible values of a user's column (plurel_sql.values)
    VALUE_POOL = "value_pool"  # a database's pool of one Faker provider
    SCRAMBLE = "scramble"  # which row gets which distinct text value
    LABELS = "labels"  # which labels of its role a categorical text column uses


@dataclass(frozen=True, slots=True)
class Name:
    """A user-visible name (table, column) as a stream key: never equal to a
    :class:`Draw`, whatever its text."""

    text: str


Key = Draw | Name | int


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


def _encode(key: Key) -> bytes:
    """Type tag, length and bytes of one key (so the encoding of a tuple is injective)."""
    if isinstance(key, Draw):
        tag, body = b"d", key.value.encode("ascii")
    elif isinstance(key, Name):
        tag, body = b"n", key.text.encode("utf-8")
    elif isinstance(key, int) and not isinstance(key, bool):
        if key < 0:
            raise ValueError("stream keys must be non-negative integers")
        tag, body = b"i", str(key).encode("ascii")
    else:
        raise TypeError(f"stream keys must be Draw, Name or int, got {type(key).__name__}")
    return tag + str(len(body)).encode("ascii") + b":" + body


def _digest(seed: int, keys: tuple[Key, ...]) -> bytes:
    """256-bit BLAKE2b hash of the seed and the keys (the identity of a stream)."""
    message = b"plurel-stream-v2\0" + _encode(int(seed)) + b"".join(map(_encode, keys))
    return hashlib.blake2b(message, digest_size=32).digest()


def stream(seed: int, *keys: Key) -> np.random.Generator:
    """A numpy Generator for the stream named by ``keys`` under ``seed``.

    PCG64DXSM whose 256-bit state (128-bit state + 128-bit increment) is a BLAKE2
    hash of the seed and the keys: thousands of streams are created per database and
    some draw millions of values, and this was the cheapest to create and the
    fastest to draw of numpy's generators here.
    """
    return np.random.Generator(np.random.PCG64DXSM(_DigestSeed(_digest(seed, keys))))


def key_seed(seed: int, *keys: Key) -> int:
    """A 62-bit integer named by ``keys`` under ``seed`` (the first bits of the
    stream's hash), for the compiled kernels' own generators: no numpy Generator
    is built just to draw one number."""
    return int.from_bytes(_digest(seed, keys)[:8], "little") >> 2
