"""Vocabularies: the words text columns are built from, drawn once per column.

Two sources:

- :data:`CATEGORY_WORDS`: short curated lists for columns that are categorical in
  nature (status, priority, segment, ...); a column uses ``k`` of them, chosen by
  its own stream;
- Faker (``faker`` package, locale :data:`LOCALE`): pools of atoms such as first
  names, last names, street names, cities, countries, sentences. A pool is drawn by
  a Faker instance created for that pool and seeded from the database seed and the
  provider's name (:func:`faker_pool`; the columns of a database that use the same
  provider share the pool and pick from it with their own streams), so the same
  seed gives the same pool on every run and machine *for the same Faker version*:
  the version is recorded in ``plurel_meta`` (:func:`faker_version`). Faker is imported only when
  a column needs it (it costs ~0.1 s).

Atoms are ASCII (accents folded) so that lengths count the same in every engine.
Rows never call Faker: plurel_sql.values.text indexes and joins the pools as Arrow
arrays.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

from plurel_sql.schema.ir import Schema

LOCALE = "en_US"

#: Labels of categorical roles, most typical first.
CATEGORY_WORDS: dict[str, tuple[str, ...]] = {
    "status": (
        "active", "pending", "completed", "cancelled", "shipped", "delivered", "on hold",
        "returned", "closed", "failed", "refunded", "archived",
    ),
    "priority": ("low", "medium", "high", "urgent", "critical", "normal", "none"),
    "segment": (
        "consumer", "corporate", "small business", "enterprise", "government", "education",
        "healthcare", "retail", "automobile", "household", "machinery", "building",
    ),
    "gender": ("female", "male", "non-binary", "unknown"),
    "mode": ("air", "rail", "truck", "ship", "mail", "courier", "pickup", "road"),
    "method": (
        "credit card", "debit card", "bank transfer", "cash", "paypal", "invoice", "check",
        "gift card",
    ),
    "channel": ("online", "in store", "phone", "email", "partner", "mobile app", "social", "tv"),
    "flag": ("yes", "no", "unknown"),
    "tier": ("bronze", "silver", "gold", "platinum", "diamond", "basic", "premium"),
    "container": (
        "box", "bag", "case", "pack", "jar", "can", "drum", "crate", "pallet", "tube", "carton",
    ),
    "clothing_size": ("XS", "S", "M", "L", "XL", "XXL"),
    "unit": ("piece", "kg", "g", "lb", "litre", "ml", "box", "metre", "pack", "dozen"),
    "frequency": ("daily", "weekly", "monthly", "quarterly", "yearly", "once"),
    "stage": (
        "planning", "design", "development", "testing", "review", "release", "maintenance",
    ),
    "instruction": (
        "deliver in person", "leave at door", "collect on delivery", "take back return",
        "signature required", "none",
    ),
    "department": (
        "Sales", "Marketing", "Engineering", "Finance", "Human Resources", "Legal",
        "Operations", "Customer Service", "Research", "Purchasing", "Logistics", "IT",
        "Quality", "Design", "Facilities", "Security",
    ),
    "category": (
        "electronics", "books", "clothing", "home", "garden", "toys", "sports", "beauty",
        "grocery", "automotive", "health", "office", "music", "outdoors", "pets",
    ),
    "type": (
        "standard", "premium", "basic", "custom", "express", "economy", "special", "regular",
        "deluxe", "compact",
    ),
    "region": (
        "Africa", "America", "Asia", "Europe", "Middle East", "Oceania", "North America",
        "South America", "Central America", "Caribbean", "Eastern Europe", "Western Europe",
        "Southeast Asia", "Central Asia", "Northern Africa",
    ),
}  # fmt: skip

PRODUCT_MATERIALS = (
    "Steel", "Wooden", "Cotton", "Leather", "Plastic", "Glass", "Ceramic", "Bamboo",
    "Aluminum", "Wool", "Silk", "Copper", "Granite", "Rubber", "Linen", "Concrete",
)  # fmt: skip
PRODUCT_NOUNS = (
    "Chair", "Table", "Lamp", "Bottle", "Jacket", "Shoes", "Backpack", "Keyboard", "Mug",
    "Clock", "Wallet", "Hat", "Gloves", "Bench", "Knife", "Plate", "Towel", "Pillow",
    "Shirt", "Bicycle", "Speaker", "Watch", "Sofa", "Desk", "Kettle", "Blanket", "Vase",
    "Tray", "Basket", "Mirror",
)  # fmt: skip
COMPANY_SUFFIXES = ("Inc", "LLC", "Group", "Ltd", "PLC", "and Sons", "Co", "Partners")
TOP_LEVEL_DOMAINS = ("com", "org", "net", "io", "biz", "info")

#: The Faker providers a role draws its pools from (method names, no arguments).
FAKER_POOLS: dict[str, tuple[str, ...]] = {
    "first_name": ("first_name",),
    "last_name": ("last_name",),
    "person_name": ("first_name", "last_name"),
    "email": ("first_name", "last_name", "free_email_domain"),
    "username": ("first_name", "last_name"),
    "company": ("last_name",),
    "url": ("last_name",),
    "street_address": ("street_name",),
    "city": ("city",),
    "state": ("state",),
    "country": ("country",),
    "country_code": ("country_code",),
    "job": ("job",),
    "title": ("catch_phrase",),
    "currency": ("currency_code",),
    "language": ("language_name",),
    "color": ("safe_color_name",),
    "comment": ("sentence",),
    "label": ("word",),
}


@lru_cache(maxsize=1)
def _faker_class():
    try:
        from faker import Faker
    except ImportError as exc:  # a declared dependency; say what to install
        from plurel_sql.errors import PlurelError

        raise PlurelError(
            "plausible text values need the 'faker' package: pip install faker"
        ) from exc
    return Faker


def faker_version() -> str:
    """The installed Faker's version (recorded with databases whose text used it)."""
    from importlib.metadata import version

    return version("faker")


def faker_pool(method: str, count: int, seed: int, **kwargs: str) -> list[str]:
    """``count`` values of Faker's ``method(**kwargs)`` from a Faker instance of its
    own, seeded with ``seed`` (ASCII-folded). Cached: the columns of a database
    share their pools (Faker takes 10-200 us a value)."""
    return list(_faker_pool(method, count, seed, tuple(sorted(kwargs.items()))))


@lru_cache(maxsize=256)
def _faker_pool(
    method: str, count: int, seed: int, kwargs: tuple[tuple[str, str], ...]
) -> tuple[str, ...]:
    fake = _faker_class()(LOCALE)
    fake.seed_instance(seed)
    draw = getattr(fake, method)
    return tuple(ascii_fold(str(draw(**dict(kwargs)))) for _ in range(count))


def value_libraries(schema: Schema) -> dict[str, str]:
    """The libraries whose data a database's values depend on, with versions (for
    ``plurel_meta``): Faker for users' schemas, nothing for random ones."""
    return {} if schema.origin == "random" else {"faker": faker_version()}


def faker_method_exists(method: str) -> bool:
    """Whether Faker (locale :data:`LOCALE`) has a provider method ``method``."""
    fake = _faker_class()(LOCALE)
    return not method.startswith("_") and callable(getattr(fake, method, None))


def ascii_fold(text: str) -> str:
    """``text`` with accents removed and other non-ASCII characters dropped."""
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return decomposed.encode("ascii", "ignore").decode("ascii")


def distinct(values: list[str]) -> list[str]:
    """``values`` without repeats, first occurrences in order."""
    return list(dict.fromkeys(values))
