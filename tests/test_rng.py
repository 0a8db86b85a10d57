"""Keyed random streams: typed keys, so no user-supplied name aliases a built-in draw."""

from __future__ import annotations

import sys
from collections import defaultdict

import numpy as np
import pytest
from generator_helpers import small_config

from plurel_sql import rng
from plurel_sql.generator.stream import DatabaseGenerator
from plurel_sql.rng import Draw, Name, key_seed, stream
from plurel_sql.schema.from_sql import schema_from_sql


def _first_draws(generator: np.random.Generator) -> np.ndarray:
    return generator.integers(0, 2**63, size=4)


@pytest.mark.parametrize("draw", list(Draw))
def test_a_name_spelled_like_a_built_in_key_gets_another_stream(draw: Draw) -> None:
    built_in = _first_draws(stream(0, Draw.POSTPROCESS, Name("t"), draw))
    user = _first_draws(stream(0, Draw.POSTPROCESS, Name("t"), Name(draw.value)))
    assert not np.array_equal(built_in, user)
    assert key_seed(0, draw) != key_seed(0, Name(draw.value))


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ((Name("a\x1fb"),), (Name("a"), Name("b"))),  # separators inside a name
        ((Name("ab"),), (Name("a"), Name("b"))),  # concatenation
        ((Name("1"),), (1,)),  # a name that reads as a number
        ((Name("1:a"),), (Name("1"), Name("a"))),  # a name that reads as a length prefix
        ((Name(""), Name("")), (Name(""),)),  # empty names still count
        ((12,), (1, 2)),
    ],
)
def test_the_key_encoding_is_injective(left: tuple, right: tuple) -> None:
    assert rng._digest(5, left) != rng._digest(5, right)


def test_untyped_keys_are_refused() -> None:
    with pytest.raises(TypeError, match="Draw, Name or int"):
        stream(0, "null_fraction")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        stream(0, True)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="non-negative"):
        stream(0, Draw.SCM, -1)


def test_streams_are_reproducible_and_seed_dependent() -> None:
    a = _first_draws(stream(3, Draw.SCM, Name("x"), Draw.PLAN))
    assert np.array_equal(a, _first_draws(stream(3, Draw.SCM, Name("x"), Draw.PLAN)))
    assert not np.array_equal(a, _first_draws(stream(4, Draw.SCM, Name("x"), Draw.PLAN)))


def test_no_two_draws_share_a_stream_when_names_spell_every_built_in_key(
    tmp_path, monkeypatch
) -> None:
    """A schema whose tables and columns are named after every built-in key: every
    stream the generator opens is asked for from one place in the code only (a user
    column named ``null_fraction`` once shared the table's null-fraction stream)."""
    names = [d.value for d in Draw]
    columns = ",\n".join(f'    "{n}" REAL' for n in names)
    sql = (
        f'CREATE TABLE "scm" (\n    id INTEGER PRIMARY KEY,\n{columns}\n);\n'
        f'CREATE TABLE "null_fraction" (\n    id INTEGER PRIMARY KEY,\n'
        f'    parent INTEGER REFERENCES "scm" (id),\n{columns}\n);\n'
    )
    path = tmp_path / "names.sql"
    path.write_text(sql)
    callers: dict[bytes, set[tuple[str, int]]] = defaultdict(set)
    digest = rng._digest

    def recording_digest(seed: int, keys: tuple) -> bytes:
        out = digest(seed, keys)
        frame = sys._getframe(2)  # the caller of stream() / key_seed()
        callers[out].add((frame.f_code.co_filename, frame.f_lineno))
        return out

    monkeypatch.setattr(rng, "_digest", recording_digest)
    config = small_config(entity_rows=[40, 40], activity_rows=[60, 60])
    schema = schema_from_sql(path, config, seed=1)
    for _ in DatabaseGenerator(config, 1, schema=schema).batches():
        pass
    assert len(callers) > 100  # the generator's streams were all seen
    shared = {d.hex()[:12]: sorted(c) for d, c in callers.items() if len(c) > 1}
    assert not shared, f"streams opened from more than one place: {shared}"
