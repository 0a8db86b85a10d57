"""Text columns from vocabularies, vectorized: the SCM's output picks entries.

:func:`text_values` turns one column's raw SCM output into strings:

- ``categorical``: the SCM's category codes index ``k`` labels of the role
  (plurel_sql.values.vocab.CATEGORY_WORDS, or the user's list);
- ``repeated``: the values' rank picks an entry of a pool (e.g. 150 countries),
  log-spaced so that a few entries are popular and most are rare;
- ``distinct``: each row's rank is a position ``0..n-1`` that a renderer turns into
  its own value, composed from small pools with Arrow kernels (a first name, a last
  name, a number and a domain make an e-mail), so no Python code runs per row.

Every value fits the column's length limits: renderers pick atoms that fit, and
whatever is still too long is cut at the limit (CHAR(n) is padded to n with
spaces, as the engines pad it).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from plurel_sql.generator.arrow import bool_array, int64_array, string_dictionary
from plurel_sql.rng import Draw
from plurel_sql.values import vocab
from plurel_sql.values.numbers import midranks, ordinal_ranks
from plurel_sql.values.overrides import FAKER_PREFIX
from plurel_sql.values.rules import TextRule
from plurel_sql.values.streams import column_stream, pool_seed

POOL_DRAWS = 256  # Faker values drawn per pool (repeats removed)
SENTENCE_DRAWS = 512
PROVIDER_DRAWS = 1024  # values of a user's faker.METHOD provider


@dataclass(frozen=True)
class TextLimits:
    """Length limits of a text column: ``max_length`` (VARCHAR(n), CHECKs; None:
    unbounded) and ``min_length``, met by padding with ``pad``."""

    max_length: int | None = None
    min_length: int = 0
    pad: str = " "

    @property
    def budget(self) -> int:
        """The length renderers aim for (unbounded text: a comfortable default)."""
        return self.max_length if self.max_length is not None else 120


@dataclass(frozen=True)
class ColumnText:
    """What one column's vocabulary is drawn from: the database seed and the
    column's names (its streams), its rule and limits."""

    seed: int
    table: str
    column: str
    rule: TextRule
    limits: TextLimits

    def pool(
        self, method: str, count: int = POOL_DRAWS, fits: int | None = None, **kwargs: str
    ) -> list[str]:
        """Distinct values of Faker's ``method(**kwargs)`` that fit ``fits``
        characters (the column's budget by default); at least one."""
        seed = pool_seed(self.seed, method)
        limit = self.limits.budget if fits is None else fits
        drawn = vocab.distinct(vocab.faker_pool(method, count, seed, **kwargs))
        kept = [v for v in drawn if 0 < len(v) <= limit]
        return kept or [min(drawn, key=len)[: max(limit, 1)]]

    def rng(self, what: Draw) -> np.random.Generator:
        return column_stream(self.seed, self.table, self.column, what)


def text_values(spec: ColumnText, raw: np.ndarray) -> pa.Array:
    """The column's strings for the SCM output ``raw`` (numbers, or category codes
    of a categorical SCM node); see the module docstring."""
    rule = spec.rule
    n = len(raw)
    if rule.words is not None or rule.cardinality == "categorical":
        labels = category_labels(spec, rule.categories)
        codes = np.asarray(raw)
        if np.issubdtype(codes.dtype, np.integer):
            codes = codes.astype(np.int64) % len(labels)
        else:  # a number: its rank picks a label, the first ones most often
            codes = popular_index(midranks(codes), len(labels))
        out = _take(labels, codes)
    elif rule.cardinality == "repeated":
        pool = repeated_pool(spec)
        out = _take(pool, popular_index(midranks(raw), len(pool)))
    else:
        positions = scramble(ordinal_ranks(raw), n, spec.rng(Draw.SCRAMBLE))
        out = render(spec, positions, n)
    return fit(out, spec.limits)


def category_labels(spec: ColumnText, k: int | None) -> list[str]:
    """``k`` labels (all of the user's list; else ``k`` of the role's words, chosen
    by the column's stream, in the role's order), shortened to fit the column."""
    rule = spec.rule
    if rule.words is not None:
        return list(rule.words)
    words = vocab.CATEGORY_WORDS.get(rule.role) or tuple(repeated_pool(spec))
    words = fitted_labels(words, spec.limits)
    k = min(k or len(words), len(words))
    picked = spec.rng(Draw.LABELS).choice(len(words), size=k, replace=False)
    return [words[i] for i in sorted(picked)]


def fitted_labels(words: tuple[str, ...] | list[str], limits: TextLimits) -> list[str]:
    """Distinct labels that fit ``limits``: the words themselves, else their
    upper-case prefixes (``pending`` -> ``P`` in a CHAR(1)), else letter codes."""
    top = limits.max_length
    if top is None or all(len(w) <= top for w in words):
        return list(words)
    fitting = [w for w in words if len(w) <= top]
    if len(fitting) >= 2:
        return fitting
    prefixes = vocab.distinct([re.sub(r"\W", "", w)[:top].upper() for w in words])
    prefixes = [p for p in prefixes if p]
    if len(prefixes) >= 2:
        return prefixes
    return [_letters(i, top) for i in range(min(len(words), 26**top))]


def _letters(i: int, width: int) -> str:
    out = ""
    for _ in range(width):
        i, r = divmod(i, 26)
        out = chr(65 + r) + out
    return out


def repeated_pool(spec: ColumnText) -> list[str]:
    """The pool a ``repeated`` column (or a finite ``distinct`` one) draws from."""
    role = spec.rule.role
    if role.startswith(FAKER_PREFIX):  # the user's named Faker provider
        return spec.pool(role[len(FAKER_PREFIX) :], count=PROVIDER_DRAWS)
    if role in vocab.CATEGORY_WORDS:
        return fitted_labels(vocab.CATEGORY_WORDS[role], spec.limits)
    if role == "country_code":
        three = spec.limits.max_length == 3 or spec.limits.min_length == 3
        return spec.pool("country_code", fits=3, **({"representation": "alpha-3"} if three else {}))
    if role == "label":
        return [w.title() for w in spec.pool("word")]
    method = vocab.FAKER_POOLS.get(role, ("word",))[0]
    return spec.pool(method)


def popular_index(u: np.ndarray, size: int) -> np.ndarray:
    """Rank fractions -> pool indexes 0..size-1, log-spaced: entry i takes a share
    proportional to log((i + 2) / (i + 1)), so the first few entries are common."""
    index = np.floor(np.exp(u * np.log(size + 1.0))) - 1
    return np.clip(index, 0, size - 1).astype(np.int64)


def scramble(positions: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """A bijection of 0..n-1 (an affine map modulo n with a multiplier coprime to
    n), so neighbouring ranks do not get neighbouring compositions."""
    if n <= 1:
        return positions
    while True:
        a = int(rng.integers(1, max(n, 2)))
        if math.gcd(a, n) == 1:
            break
    b = int(rng.integers(0, n))
    return (positions * a + b) % n


def unique_values(spec: ColumnText, rows: np.ndarray, n: int) -> pa.Array | None:
    """Values for ``rows`` (row numbers of a table of ``n`` rows) that are distinct
    over the whole table, for a column that must be UNIQUE. Where the role's values
    repeat (a pool smaller than the table), each repeat is numbered: ``Garden``,
    ``Garden 2``, ``Garden 3``, the number kept within the column's length. None when
    even that does not give ``n`` distinct values (limits too short for a number):
    then the keys' own codes are used."""
    positions = scramble(np.asarray(rows, dtype=np.int64), n, spec.rng(Draw.SCRAMBLE))
    repeats = _repeats(spec, n)
    if repeats is None:
        return None
    values = fit(render(spec, positions, n), spec.limits)
    if not repeats.any():
        return values
    return fit(_numbered(values, repeats[positions] + 1, spec.limits), spec.limits)


@lru_cache(maxsize=8)
def _repeats(spec: ColumnText, n: int) -> np.ndarray | None:
    """For every position 0..n-1, how many earlier positions hold the same value (0
    for a value's first occurrence); None when numbering them cannot make the column
    distinct within its limits. A value depends only on its position and ``n``, so
    chunks of rows agree; computed once per column over the whole table."""
    values = fit(render(spec, np.arange(n, dtype=np.int64), n), spec.limits)
    encoded = values if pa.types.is_dictionary(values.type) else pc.dictionary_encode(values)
    codes = encoded.indices.cast(pa.int32())
    codes = np.frombuffer(codes.buffers()[1], dtype=np.int32)[codes.offset : codes.offset + n]
    order = np.argsort(codes, kind="stable")
    ranked = codes[order]
    starts = np.flatnonzero(np.r_[True, ranked[1:] != ranked[:-1]])
    group_start = np.repeat(starts, np.diff(np.r_[starts, n]))
    repeats = np.empty(n, dtype=np.int64)
    repeats[order] = np.arange(n) - group_start
    if not repeats.any():
        return repeats
    numbered = fit(_numbered(values, repeats + 1, spec.limits), spec.limits)
    return repeats if pc.count_distinct(numbered).as_py() == n else None


def _numbered(values: pa.Array, rounds: np.ndarray, limits: TextLimits) -> pa.Array:
    """``values`` with `` k`` appended where ``rounds`` is k > 1, each value first cut
    so that the number stays within ``limits.max_length``."""
    suffix = pc.if_else(
        bool_array(rounds > 1), _join(" ", _strings(rounds)), _const("", len(rounds))
    )
    if pa.types.is_dictionary(values.type):
        values = values.cast(pa.string())
    if limits.max_length is None:
        return _join(values, suffix)
    room = limits.max_length - _lengths(suffix)
    out = values
    for width in np.unique(room[rounds > 1]):
        cut = pc.utf8_slice_codeunits(values, 0, max(int(width), 0))
        out = pc.if_else(bool_array(room == width), cut, out)
    return _join(out, suffix)


# --------------------------------------------------------------------- renderers
def render(spec: ColumnText, positions: np.ndarray, n: int) -> pa.Array:
    """Distinct values for ``positions`` (0..n-1) of the column's role; a value
    depends only on its position and ``n``, so chunks of rows render alike."""
    renderer = RENDERERS.get(spec.rule.role)
    if renderer is None:
        pool = repeated_pool(spec)
        return _take(pool, positions % len(pool))
    return renderer(spec, positions, n)


def _take(pool: list[str], index: np.ndarray) -> pa.Array:
    return string_dictionary(pool).take(int64_array(index))


def _lengths(values: pa.Array) -> np.ndarray:
    """Characters per value (of an array without NULLs), read from the buffer
    (``to_numpy`` imports pandas)."""
    lengths = pc.utf8_length(values)
    data = np.frombuffer(lengths.buffers()[1], dtype=np.int32)
    return data[lengths.offset : lengths.offset + len(lengths)]


def _strings(values: np.ndarray) -> pa.Array:
    """Integers as decimal strings."""
    return pc.cast(int64_array(values), pa.string())


def _const(text: str, n: int) -> pa.Array:
    """``text`` repeated ``n`` times (Arrow compute functions given Python scalars
    import pandas, ~0.5 s per process, so constants are arrays)."""
    return _take([text], np.zeros(n, dtype=np.int64))


def _join(*parts: pa.Array | str) -> pa.Array:
    """The parts concatenated row by row (strings repeat on every row)."""
    n = next(len(p) for p in parts if not isinstance(p, str))
    arrays = [_const(p, n) if isinstance(p, str) else p for p in parts]
    return pc.binary_join_element_wise(*arrays, _const("", n))


def _where(mask: np.ndarray, yes: pa.Array, no: pa.Array) -> pa.Array:
    return pc.if_else(bool_array(mask), yes, no)


def _radix(positions: np.ndarray, sizes: list[int]) -> tuple[list[np.ndarray], np.ndarray]:
    """Mixed-radix digits of ``positions`` for ``sizes``, and what is left over."""
    digits = []
    rest = positions
    for size in sizes:
        rest, digit = np.divmod(rest, size)
        digits.append(digit)
    return digits, rest


def _counter(rest: np.ndarray, prefix: str = "") -> pa.Array:
    """``prefix`` + (rest + 1) where rest > 0, else the empty string (what makes a
    composition distinct once its atoms' combinations run out)."""
    return _where(rest > 0, _join(prefix, _strings(rest + 1)), _const("", len(rest)))


def _slug(words: list[str]) -> list[str]:
    slugs = [re.sub(r"[^a-z0-9]", "", w.lower()) for w in words]
    return vocab.distinct([s for s in slugs if s]) or ["user"]


def _short(words: list[str], limit: int) -> list[str]:
    kept = [w for w in words if len(w) <= limit]
    return kept or [min(words, key=len)[: max(limit, 1)]]


def _person_name(spec: ColumnText, positions: np.ndarray, n: int) -> pa.Array:
    half = max(spec.limits.budget // 2 - 1, 1)
    first, last = spec.pool("first_name", fits=half), spec.pool("last_name", fits=half)
    (a, b), rest = _radix(positions, [len(first), len(last)])
    return _join(_take(first, a), " ", _take(last, b), _counter(rest, " "))


def _email(spec: ColumnText, positions: np.ndarray, n: int) -> pa.Array:
    budget = spec.limits.budget
    domains = vocab.distinct(spec.pool("free_email_domain", count=32) + ["example.com", "mail.com"])
    domains = _short(sorted(domains, key=len), max(budget // 2, 8))
    first, last = _slug(spec.pool("first_name")), _slug(spec.pool("last_name"))
    combos = len(first) * len(last) * len(domains)
    digits = len(str(max(n // max(combos, 1), 1)))
    room = max((budget - max(map(len, domains)) - 2 - digits) // 2, 1)
    first, last = _short(first, room), _short(last, room)
    (a, b, d), rest = _radix(positions, [len(first), len(last), len(domains)])
    return _join(_take(first, a), ".", _take(last, b), _counter(rest), "@", _take(domains, d))


def _username(spec: ColumnText, positions: np.ndarray, n: int) -> pa.Array:
    room = max(spec.limits.budget - 5, 2)
    initials = vocab.distinct([w[0] for w in _slug(spec.pool("first_name"))])
    last = _short(_slug(spec.pool("last_name")), room - 1)
    (a, b), rest = _radix(positions, [len(initials), len(last)])
    return _join(_take(initials, a), _take(last, b), _counter(rest))


def _company(spec: ColumnText, positions: np.ndarray, n: int) -> pa.Array:
    budget = spec.limits.budget
    last = spec.pool("last_name", fits=max(budget // 3, 3))
    suffixes = _short(list(vocab.COMPANY_SUFFIXES), max(budget - max(map(len, last)) - 1, 1))
    forms = 3 if budget >= 32 else 2  # "A, B and C" needs room
    (form, a, b, s), rest = _radix(positions, [forms, len(last), len(last), len(suffixes)])
    one = _join(_take(last, a), " ", _take(suffixes, s))
    two = _join(_take(last, a), "-", _take(last, b))
    three = _join(_take(last, a), ", ", _take(last, b), " and ", _take(last, s % len(last)))
    named = _where(form == 0, one, _where(form == 1, two, three))
    return _join(named, _counter(rest, " "))


def _product(spec: ColumnText, positions: np.ndarray, n: int) -> pa.Array:
    colors = [c.title() for c in spec.pool("safe_color_name")]
    materials, nouns = list(vocab.PRODUCT_MATERIALS), list(vocab.PRODUCT_NOUNS)
    (c, m, k), rest = _radix(positions, [len(colors), len(materials), len(nouns)])
    return _join(
        _take(colors, c), " ", _take(materials, m), " ", _take(nouns, k), _counter(rest, " ")
    )


def _url(spec: ColumnText, positions: np.ndarray, n: int) -> pa.Array:
    room = max((spec.limits.budget - len("https://www..com/")) // 2, 2)
    last = _short(_slug(spec.pool("last_name")), room)
    tlds = list(vocab.TOP_LEVEL_DOMAINS)
    (a, b, t), rest = _radix(positions, [len(last), len(last), len(tlds)])
    joined, hyphened = (
        _join(_take(last, a), _take(last, b)),
        _join(_take(last, a), "-", _take(last, b)),
    )
    host = _where(a % 2 == 0, joined, hyphened)
    return _join("https://www.", host, _counter(rest), ".", _take(tlds, t), "/")


def _street_address(spec: ColumnText, positions: np.ndarray, n: int) -> pa.Array:
    streets = spec.pool("street_name", fits=max(spec.limits.budget - 6, 1))
    (s,), rest = _radix(positions, [len(streets)])
    number = rest * 100 + (positions * 7919) % 100 + 1
    return _join(_strings(number), " ", _take(streets, s))


def _digits(values: np.ndarray, width: int) -> pa.Array:
    return pc.utf8_lpad(_strings(values), width, "0")


def _phone(spec: ColumnText, positions: np.ndarray, n: int) -> pa.Array:
    # ten digits starting 2-9, distinct per position (an affine map modulo 8e9)
    number = (positions * 2_654_435_761 + 1_234_567) % 8_000_000_000 + 2_000_000_000
    text = _digits(number, 10)
    area, middle = pc.utf8_slice_codeunits(text, 0, 3), pc.utf8_slice_codeunits(text, 3, 6)
    line = pc.utf8_slice_codeunits(text, 6, 10)
    budget = spec.limits.budget
    if budget >= 15:
        return _join("+1-", area, "-", middle, "-", line)
    if budget == 14:
        return _join("(", area, ") ", middle, "-", line)
    if budget >= 12:
        return _join(area, "-", middle, "-", line)
    return pc.utf8_slice_codeunits(text, 10 - budget, 10)


def _ip_address(spec: ColumnText, positions: np.ndarray, n: int) -> pa.Array:
    value = (positions * 2_654_435_761 + 16_777_216) % (1 << 32)
    a, b, c, d = (_strings((value >> s) & 255) for s in (24, 16, 8, 0))
    return _join(a, ".", b, ".", c, ".", d)


def _postal_code(spec: ColumnText, positions: np.ndarray, n: int) -> pa.Array:
    width = min(max(5, spec.limits.min_length), spec.limits.budget)
    return _digits((positions * 7_919 + 10_007) % (10**width), width)


def _code(spec: ColumnText, positions: np.ndarray, n: int) -> pa.Array:
    budget = spec.limits.budget
    digits = max(len(str(max(n - 1, 1))), 5)
    letters = re.sub(r"[^A-Za-z]", "", spec.column).upper()[:3] or "ID"
    room = budget - 1 - digits  # letters that fit before "-" and the digits
    if room >= 1:
        number = (positions * 7_919 + 13) % (10**digits) if digits < 18 else positions
        return _join(letters[:room], "-", _digits(number, digits))
    width = min(budget, 18)
    return _digits((positions * 7_919 + 13) % (10**width), width)


def _title(spec: ColumnText, positions: np.ndarray, n: int) -> pa.Array:
    budget = spec.limits.budget
    phrases = spec.pool("catch_phrase", count=SENTENCE_DRAWS, fits=10_000)
    pool = vocab.distinct([_cut_words(p, budget) for p in phrases])
    (a,), rest = _radix(positions, [len(pool)])
    return _join(_take(pool, a), _counter(rest, " "))


def _comment(spec: ColumnText, positions: np.ndarray, n: int) -> pa.Array:
    budget = spec.limits.budget
    sentences = spec.pool("sentence", count=SENTENCE_DRAWS, fits=10_000)
    sentences = [_cut_words(s, budget) for s in sentences]
    size = len(sentences)
    first = _take(sentences, positions % size)
    both = _join(first, " ", _take(sentences, (positions * 31 + positions // size + 17) % size))
    return _where(_lengths(both) <= budget, both, first)


def _cut_words(text: str, limit: int) -> str:
    """``text`` shortened to ``limit`` characters at a word boundary."""
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut if cut else text[:limit]


RENDERERS: dict[str, Callable[[ColumnText, np.ndarray, int], pa.Array]] = {
    "person_name": _person_name,
    "email": _email,
    "username": _username,
    "company": _company,
    "product": _product,
    "url": _url,
    "street_address": _street_address,
    "phone": _phone,
    "ip_address": _ip_address,
    "postal_code": _postal_code,
    "code": _code,
    "title": _title,
    "comment": _comment,
}


def fit(values: pa.Array, limits: TextLimits) -> pa.Array:
    """``values`` cut to ``max_length`` and padded to ``min_length`` characters."""
    if limits.max_length is not None and (_lengths(values) > limits.max_length).any():
        values = pc.utf8_rtrim_whitespace(pc.utf8_slice_codeunits(values, 0, limits.max_length))
    if limits.min_length > 0:
        values = pc.utf8_rpad(values, limits.min_length, limits.pad)
    return values
