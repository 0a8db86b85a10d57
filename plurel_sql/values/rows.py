"""Row counts that fit each table's role in a user's schema.

- ``lookup``: a small table of labels that others reference: its name says so
  (region, nation, country, status, type, category, ...) or it is tiny (at most
  three columns) and referenced by two or more tables. Well-known ones have typical
  sizes (:data:`LOOKUP_SIZES`: regions 3-8, countries 15-50, ...), the others
  ``database.lookup_rows`` (default 5..30); a key or UNIQUE column with a short IN
  list caps it further.
- ``entity``: any other table that some table references: ``database.entity_rows``.
- ``fact``: a table nobody references (orders' lines, events, ratings):
  ``database.activity_rows``.

A count the user sets (``[rows]`` in the configuration, ``--rows TABLE=N``) wins.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from plurel_sql.config import Config
from plurel_sql.errors import ConfigError
from plurel_sql.sampling import draw_int
from plurel_sql.schema.ir import Table
from plurel_sql.values.names import NameWords, word_set
from plurel_sql.values.streams import rows_stream

TableRole = Literal["lookup", "entity", "fact"]

LOOKUP_WORDS = word_set(
    "region regions nation nations country countries continent continents state states "
    "province provinces status statuses type types category categories kind kinds genre "
    "genres segment segments priority priorities currency currencies language languages "
    "gender genders tag tags role roles level levels tier tiers channel channels method "
    "methods mode modes unit units color colors colour colours season seasons weekday "
    "weekdays month months shipper shippers department departments"
)
LOOKUP_MAX_COLUMNS = 3
#: Typical sizes of well-known lookup tables (singular names); the others draw
#: from ``database.lookup_rows``.
LOOKUP_SIZES = {
    "region": (3, 8),
    "continent": (3, 7),
    "nation": (15, 50),
    "country": (15, 50),
    "state": (10, 50),
    "province": (10, 50),
    "currency": (5, 30),
    "language": (5, 30),
    "month": (12, 12),
    "weekday": (7, 7),
    "season": (4, 4),
    "gender": (2, 4),
}


def table_role(table: Table, tables: Sequence[Table]) -> TableRole:
    """The role of ``table`` among ``tables`` (see the module docstring)."""
    referencing = [t for t in tables if t.name != table.name and table.name in t.parents]
    if not referencing and not any(fk.parent == table.name for fk in table.foreign_keys):
        return "fact"
    words = NameWords.of(table.name)
    if words.head in LOOKUP_WORDS or words.compact in LOOKUP_WORDS:
        return "lookup"
    if len(table.columns) <= LOOKUP_MAX_COLUMNS and len(referencing) >= 2:
        return "lookup"
    return "entity"


def role_rows(table: Table, tables: Sequence[Table], config: Config, seed: int) -> int:
    """The table's row count: the configured one, else drawn for its role."""
    wanted = config.rows.get(table.name)
    if wanted is not None:
        return wanted
    db = config.database
    role = table_role(table, tables)
    bounds = {"lookup": db.lookup_rows, "entity": db.entity_rows, "fact": db.activity_rows}[role]
    if role == "lookup":
        bounds = list(LOOKUP_SIZES.get(singular(NameWords.of(table.name).head), bounds))
    return draw_int(rows_stream(seed, table.name), bounds)


def singular(word: str) -> str:
    """``countries`` -> ``country``, ``regions`` -> ``region`` (enough for names)."""
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith("ses"):
        return word[:-2]
    return word[:-1] if word.endswith("s") and not word.endswith("ss") else word


def check_capacity(table: Table, wanted: int, capacity: int) -> None:
    """A one-line error when the user asked for more rows than the table's
    constraints allow (e.g. a bridge table over few parent rows)."""
    if wanted > capacity:
        raise ConfigError(
            f"rows.{table.name} = {wanted}: at most {capacity} rows satisfy its keys "
            "and UNIQUE constraints with these parent tables"
        )
