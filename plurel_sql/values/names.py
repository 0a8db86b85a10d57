"""Words of SQL identifiers, so that value rules can match a column by its name.

``o_totalprice``, ``orderDate``, ``"Unit Price"`` and ``CUSTOMER_EMAIL`` all carry
their meaning in English words; :class:`NameWords` splits an identifier into
lower-case tokens (underscores, spaces, punctuation, camelCase and digit boundaries)
and drops the one- or two-letter table prefix that schemas such as TPC-H put on
every column (``c_``, ``ps_``). ``compact`` is the tokens run together, for the
compound spellings TPC-H uses (``supplycost``, ``mktsegment``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

#: Two-letter leading tokens that are words, not table prefixes.
KEEP_PREFIXES = frozenset({"ip", "no", "id", "is", "zip", "tv", "os"})

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_SEPARATORS = re.compile(r"[\W_]+", re.UNICODE)
_DIGITS = re.compile(r"(?<=\D)(?=\d)|(?<=\d)(?=\D)")


def word_set(text: str) -> frozenset[str]:
    """The space-separated words of ``text`` (how the pattern tables are written)."""
    return frozenset(text.split())


@dataclass(frozen=True)
class NameWords:
    """The tokens of one identifier (see the module docstring)."""

    tokens: tuple[str, ...]

    @classmethod
    def of(cls, name: str) -> NameWords:
        spaced = _CAMEL.sub(" ", name)
        parts = [p for p in _SEPARATORS.split(spaced.lower()) if p]
        parts = [q for p in parts for q in _DIGITS.split(p) if q and not q.isdigit()]
        if len(parts) > 1 and len(parts[0]) <= 2 and parts[0] not in KEEP_PREFIXES:
            parts = parts[1:]
        return cls(tuple(parts))

    @property
    def compact(self) -> str:
        return "".join(self.tokens)

    @property
    def head(self) -> str:
        """The last token: the head noun of an English compound (``email_status`` is
        a status)."""
        return self.tokens[-1] if self.tokens else ""

    def has(self, words: Iterable[str]) -> bool:
        """Whether any of ``words`` is one of the tokens."""
        return not set(words).isdisjoint(self.tokens)

    def contains(self, parts: Iterable[str]) -> bool:
        """Whether any of ``parts`` occurs in the run-together name."""
        compact = self.compact
        return any(part in compact for part in parts)
