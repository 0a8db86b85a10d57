"""The plausible-value decisions for one column, with the user's overrides applied:
what the schema builder and the landing of values ask of this package.

- :func:`value_rule`: the column's rule (plurel_sql.values.rules) after its
  ``[columns.TABLE.COLUMN]`` override;
- :func:`text_categories`: how many SCM categories a text column uses (None: the
  SCM computes a number whose rank picks the value);
- :func:`number_range`, :func:`date_window`: where a number or date lands, inside
  what the column's type and CHECKs allow;
- :func:`null_rows`: how many rows are NULL.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math

import numpy as np

from plurel_sql.config import Config
from plurel_sql.errors import ConfigError
from plurel_sql.sampling import draw_int
from plurel_sql.schema.ir import Column, Schema, Table
from plurel_sql.values.overrides import FAKER_PREFIX, ColumnOverride
from plurel_sql.values.rules import (
    TEXT_CARDINALITY,
    DateRule,
    NumberRule,
    Rule,
    TextRule,
    column_rule,
)
from plurel_sql.values.streams import categories_stream
from plurel_sql.values.vocab import CATEGORY_WORDS

#: Birth dates lie this many years before the window's end.
BIRTH_YEARS = (18, 90)
#: Categories of a categorical text column without a fixed list (at most its words).
MAX_CATEGORIES = 10


def value_rule(
    table: Table, column: Column, window: tuple[str, str], override: ColumnOverride | None
) -> Rule | None:
    """The column's rule, the user's override applied (None: generic landing)."""
    rule = column_rule(table, column, window)
    if override is None:
        return rule
    where = f"columns.{table.name}.{column.name}"
    t = column.type
    if t.is_number:
        if override.range is not None and not isinstance(override.range[0], float):
            raise ConfigError(f"{where}.range: {column.type.sql()} needs numbers")
        base = rule if isinstance(rule, NumberRule) else None
        lo, hi = override.range or ((base.lo, base.hi) if base else (None, None))
        if lo is None:
            if override.distribution is None:
                return rule
            raise ConfigError(f"{where}.distribution: give a range too (no rule matches)")
        return NumberRule(
            base.role if base else "custom",
            float(lo),
            float(hi),
            override.distribution or (base.distribution if base else "uniform"),
            base.integral if base else False,
        )
    if t.name in ("date", "timestamp", "timestamptz"):
        if override.range is None:
            return rule
        if isinstance(override.range[0], float):
            raise ConfigError(f"{where}.range: a {t.sql()} column needs ISO dates")
        return DateRule("custom", str(override.range[0]), str(override.range[1]))
    if t.is_text or t.name == "enum":
        if override.range is not None or override.distribution is not None:
            raise ConfigError(f"{where}: range and distribution apply to numbers and dates")
        return _text_override(rule, override)
    return rule


def _text_override(rule: Rule | None, override: ColumnOverride) -> Rule | None:
    base = rule if isinstance(rule, TextRule) else None
    if override.vocabulary is not None:
        return TextRule("custom", "categorical", override.vocabulary)
    if override.provider is not None:
        provider = override.provider
        default = "repeated" if provider.startswith(FAKER_PREFIX) else TEXT_CARDINALITY[provider]
        return TextRule(provider, override.cardinality or default)
    if override.cardinality is not None:
        return TextRule(base.role if base else "label", override.cardinality)
    return rule


def text_categories(
    table: Table, column: Column, config: Config, seed: int, window: tuple[str, str]
) -> int | None:
    """The SCM categories of a text column: None when a rule gives its values (the
    SCM computes a number whose rank picks them, so no category can collapse the
    column), else a number drawn from ``database.num_categories`` (the generic
    labels of an unknown name)."""
    rule = value_rule(table, column, window, config.column_override(table.name, column.name))
    if isinstance(rule, TextRule):
        return None
    return draw_int(
        categories_stream(seed, table.name, column.name), config.database.num_categories
    )


def landing_rule(
    table: Table, column: Column, window: tuple[str, str], config: Config, seed: int
) -> Rule | None:
    """:func:`value_rule` with the labels a categorical text column uses: drawn from
    ``database.num_categories``, at most the role's words."""
    rule = value_rule(table, column, window, config.column_override(table.name, column.name))
    if not isinstance(rule, TextRule) or rule.cardinality != "categorical" or rule.words:
        return rule
    lo, hi = config.database.num_categories
    top = min(hi, len(CATEGORY_WORDS.get(rule.role, ())) or hi, MAX_CATEGORIES)
    k = draw_int(categories_stream(seed, table.name, column.name), [min(lo, top), top])
    return dataclasses.replace(rule, categories=k)


def number_range(rule: NumberRule, lo: float, hi: float) -> tuple[float, float] | None:
    """The rule's range inside the column's allowed ``[lo, hi]``; None when they
    do not meet (the declared constraints win)."""
    a, b = max(rule.lo, lo), min(rule.hi, hi)
    if a > b or not (math.isfinite(a) and math.isfinite(b)):
        return None
    return a, b


def date_window(rule: DateRule, min_date: str, max_date: str) -> tuple[str, str]:
    """The days a DATE/TIMESTAMP column spreads over: the database window, birth
    dates 18-90 years before its end, or the user's range."""
    if rule.lo is not None and rule.hi is not None:
        return rule.lo[:10], rule.hi[:10]
    if rule.role == "birth":
        end = dt.date.fromisoformat(max_date)
        young, old = BIRTH_YEARS
        return _years_before(end, old).isoformat(), _years_before(end, young).isoformat()
    return min_date, max_date


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def null_rows(override: ColumnOverride | None, num_rows: int, default: int) -> int:
    """Rows set NULL in a nullable column: the user's rate, else ``default``."""
    if override is None or override.null_rate is None:
        return default
    return int(round(override.null_rate * num_rows))


def check_column_overrides(config: Config, tables: list[Table], window: tuple[str, str]) -> None:
    """One-line errors for column overrides that cannot apply (after the names were
    checked: plurel_sql.values.overrides.check_overrides): NULLs asked of a NOT
    NULL column, text settings on other columns, declared labels replaced, a range
    of the wrong kind, settings of key columns or of the time column (its values
    spread over the database window)."""
    by_name = {t.name: t for t in tables}
    for table_name, columns in config.columns.items():
        table = by_name[table_name]
        values = {c.name for c in table.features}
        for column_name, override in columns.items():
            column = table.column(column_name)
            where = f"columns.{table_name}.{column_name}"
            if column_name == table.time_column:
                raise ConfigError(
                    f"{where}: the time column spreads over the database window "
                    "(set database.min_date / max_date)"
                )
            if column_name not in values:
                raise ConfigError(f"{where}: key columns take their values from the keys")
            value_rule(table, column, window, override)  # raises on a range of the wrong kind
            longest = column.type.length
            too_long = [w for w in override.vocabulary or () if longest and len(w) > longest]
            if too_long:
                raise ConfigError(
                    f"{where}.vocabulary: {too_long[0]!r} is longer than {column.type.sql()} allows"
                )
            if override.null_rate and not column.nullable:
                raise ConfigError(f"{where}.null_rate: the column is NOT NULL")
            if column.labels is not None and (override.vocabulary or override.provider):
                raise ConfigError(f"{where}: the column's labels are declared (ENUM or CHECK IN)")
            text = column.type.is_text or column.type.name == "enum"
            if not text and (override.vocabulary or override.provider or override.cardinality):
                raise ConfigError(
                    f"{where}: vocabulary, provider and cardinality apply to text columns "
                    f"({column_name} is {column.type.sql()})"
                )


def check_random_overrides(config: Config, schema: Schema) -> None:
    """A random schema takes ``[rows]`` for its tables (``table_0``, ...) but no
    column overrides: its columns are the method's own."""
    from plurel_sql.values.overrides import check_overrides

    check_overrides(config.rows, {}, schema.tables)
    if config.columns:
        first = next(iter(config.columns))
        raise ConfigError(
            f"columns.{first}: column overrides apply to your own schemas (--schema-sql ...), "
            "not to random ones"
        )


def unique_text(table: Table, column: Column, rows: np.ndarray, schema: Schema, seed: int):
    """Plausible distinct values of a text column that a key or UNIQUE constraint
    makes row-derived (``email VARCHAR(60) UNIQUE`` gets e-mails, not codes), for
    the row numbers ``rows``; None when its name gives no distinct vocabulary or the
    vocabulary cannot give every row its own value within the column's limits."""
    from plurel_sql.schema.domains import column_domain
    from plurel_sql.values.text import ColumnText, TextLimits, unique_values

    rule = value_rule(table, column, (schema.min_date, schema.max_date), None)
    domain = column_domain(table, column)
    if not isinstance(rule, TextRule) or domain.excluded or column.labels is not None:
        return None
    pad = " " if column.type.name == "char" else "x"
    limits = TextLimits(domain.max_length, domain.min_length, pad)
    spec = ColumnText(seed, table.name, column.name, rule, limits)
    return unique_values(spec, rows, table.num_rows)
