"""User overrides of row counts and columns: the ``[rows]`` and ``[columns]`` tables
of a configuration, and ``--rows TABLE=N,...`` on the command line.

```toml
[rows]
region = 5
lineitem = 60000

[columns.orders.o_totalprice]
range = [10, 50000]          # numbers (and DATE/TIMESTAMP as ISO dates)
distribution = "log"         # uniform | log | normal | scm
null_rate = 0.02             # share of NULLs (nullable columns only)

[columns.orders.o_orderpriority]
vocabulary = ["1-URGENT", "2-HIGH", "3-MEDIUM", "4-NOT SPECIFIED", "5-LOW"]

[columns.customer.c_phone]
provider = "phone"           # a role (docs/schemas.md) or faker.METHOD
```

Every problem is a one-line ConfigError naming the key. Names of tables and
columns are checked against the schema when it is known (:func:`check_overrides`).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from plurel_sql.errors import ConfigError
from plurel_sql.values.rules import CARDINALITIES, DISTRIBUTIONS, TEXT_CARDINALITY

MAX_ROWS = 1_000_000_000
SETTINGS = ("range", "distribution", "null_rate", "vocabulary", "provider", "cardinality")
FAKER_PREFIX = "faker."


@dataclass(frozen=True)
class ColumnOverride:
    """What a user fixed about one column (None: keep the rule's choice)."""

    range: tuple[float, float] | tuple[str, str] | None = None
    distribution: str | None = None
    null_rate: float | None = None
    vocabulary: tuple[str, ...] | None = None
    provider: str | None = None
    cardinality: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key in SETTINGS:
            value = getattr(self, key)
            if value is not None:
                out[key] = list(value) if isinstance(value, tuple) else value
        return out


def is_int(value: Any) -> bool:
    """An integer of TOML (``True`` is not one)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    """A finite integer or float of TOML (``True``, NaN and +-inf are not numbers here:
    every numeric setting is read through this check, so NaN never reaches a draw)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return math.isfinite(value)


def row_count(key: str, value: Any) -> int:
    """A validated row count (1..MAX_ROWS)."""
    if not is_int(value):
        raise ConfigError(f"{key}: expected a whole number of rows, got {value!r}")
    if value < 1:
        raise ConfigError(f"{key}: must be at least 1 row, got {value}")
    if value > MAX_ROWS:
        raise ConfigError(f"{key}: at most {MAX_ROWS:,} rows, got {value:,}")
    return value


def parse_rows(data: Any) -> dict[str, int]:
    """The ``[rows]`` table: table name -> row count."""
    if not isinstance(data, Mapping):
        raise ConfigError("rows: expected a table of TABLE = N entries")
    return {str(name): row_count(f"rows.{name}", value) for name, value in data.items()}


def parse_rows_option(text: str) -> dict[str, int]:
    """``--rows TABLE=N,TABLE=N``: a table name may contain anything but ``,`` and
    ``=`` (spaces around them are ignored)."""
    out: dict[str, int] = {}
    for item in text.split(","):
        name, sep, count = (part.strip() for part in item.partition("="))
        if not sep or not name or not re.fullmatch(r"[+-]?\d+", count):
            raise ConfigError(f"--rows: expected TABLE=N[,TABLE=N...], got {item.strip()!r}")
        out[name] = row_count(f"--rows {name}", int(count))
    return out


def parse_columns(data: Any) -> dict[str, dict[str, ColumnOverride]]:
    """The ``[columns.TABLE.COLUMN]`` tables: table -> column -> override."""
    if not isinstance(data, Mapping):
        raise ConfigError("columns: expected [columns.TABLE.COLUMN] tables")
    out: dict[str, dict[str, ColumnOverride]] = {}
    for table, columns in data.items():
        where = f"columns.{table}"
        if not isinstance(columns, Mapping):
            raise ConfigError(f"{where}: expected [columns.TABLE.COLUMN] tables")
        out[str(table)] = {}
        for column, settings in columns.items():
            if column in SETTINGS or not isinstance(settings, Mapping):
                raise ConfigError(
                    f"{where}.{column}: expected a [columns.TABLE.COLUMN] table of settings "
                    f"(a table name with a dot in it must be quoted)"
                )
            out[str(table)][str(column)] = column_override(f"{where}.{column}", settings)
    return out


def column_override(where: str, settings: Mapping[str, Any]) -> ColumnOverride:
    """One column's validated settings (see the module docstring)."""
    unknown = [k for k in settings if k not in SETTINGS]
    if unknown:
        raise ConfigError(
            f"{where}.{unknown[0]}: unknown column setting (known: {', '.join(SETTINGS)})"
        )
    values: dict[str, Any] = {}
    if "range" in settings:
        values["range"] = _range(f"{where}.range", settings["range"])
    if "distribution" in settings:
        values["distribution"] = _choice(
            f"{where}.distribution", settings["distribution"], DISTRIBUTIONS
        )
    if "cardinality" in settings:
        values["cardinality"] = _choice(
            f"{where}.cardinality", settings["cardinality"], CARDINALITIES
        )
    if "null_rate" in settings:
        rate = settings["null_rate"]
        if not is_number(rate) or not 0.0 <= rate <= 1.0:
            raise ConfigError(f"{where}.null_rate: expected a number in [0, 1], got {rate!r}")
        values["null_rate"] = float(rate)
    if "vocabulary" in settings:
        words = settings["vocabulary"]
        if not isinstance(words, list) or not words or not all(isinstance(w, str) for w in words):
            raise ConfigError(f"{where}.vocabulary: expected a non-empty list of strings")
        if len(set(words)) != len(words):
            raise ConfigError(f"{where}.vocabulary: lists a value twice")
        values["vocabulary"] = tuple(words)
    if "provider" in settings:
        values["provider"] = _provider(f"{where}.provider", settings["provider"])
    if "vocabulary" in values and "provider" in values:
        raise ConfigError(f"{where}: give either vocabulary or provider, not both")
    return ColumnOverride(**values)


def _choice(key: str, value: Any, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ConfigError(f"{key}: expected one of {', '.join(allowed)}, got {value!r}")
    return value


def _range(key: str, value: Any) -> tuple[float, float] | tuple[str, str]:
    if isinstance(value, list) and len(value) == 2 and all(is_number(v) for v in value):
        lo, hi = float(value[0]), float(value[1])
    elif isinstance(value, list) and len(value) == 2 and all(_is_date(v) for v in value):
        lo, hi = (_iso(v) for v in value)
        if lo > hi:
            raise ConfigError(f"{key}: min {lo} > max {hi}")
        return lo, hi
    else:
        raise ConfigError(f"{key}: expected [min, max] (numbers, or dates YYYY-MM-DD)")
    if lo > hi:
        raise ConfigError(f"{key}: min {value[0]} > max {value[1]}")
    if lo != lo or hi != hi or abs(lo) == float("inf") or abs(hi) == float("inf"):
        raise ConfigError(f"{key}: bounds must be finite numbers")
    return lo, hi


def _is_date(value: Any) -> bool:
    if isinstance(value, dt.date):
        return True
    if not isinstance(value, str):
        return False
    try:
        dt.datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _iso(value: Any) -> str:
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def _provider(key: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{key}: expected a role name or faker.METHOD, got {value!r}")
    if value.startswith(FAKER_PREFIX):
        from plurel_sql.values.vocab import faker_method_exists

        method = value[len(FAKER_PREFIX) :]
        if not faker_method_exists(method):
            raise ConfigError(f"{key}: Faker has no provider method {method!r}")
        return value
    if value not in TEXT_CARDINALITY:
        raise ConfigError(
            f"{key}: unknown provider {value!r} (roles: {', '.join(sorted(TEXT_CARDINALITY))}; "
            "or faker.METHOD)"
        )
    return value


def check_overrides(
    rows: Mapping[str, int],
    columns: Mapping[str, Mapping[str, ColumnOverride]],
    tables: Sequence[Any],
) -> None:
    """One-line errors for overrides naming a table or column the schema lacks."""
    by_name = {t.name: t for t in tables}
    names = ", ".join(by_name)
    for name in rows:
        if name not in by_name:
            raise ConfigError(f"rows.{name}: no table of that name in the schema (tables: {names})")
    for name, settings in columns.items():
        table = by_name.get(name)
        if table is None:
            raise ConfigError(
                f"columns.{name}: no table of that name in the schema (tables: {names})"
            )
        known = table.column_names()
        for column in settings:
            if column not in known:
                raise ConfigError(
                    f"columns.{name}.{column}: {name} has no such column "
                    f"(columns: {', '.join(known)})"
                )
