"""Which scale a column's values land on, decided from its type and its name.

:func:`column_rule` returns one rule per value column of a user's schema:

- :class:`NumberRule`: a range, a distribution and whether values are whole numbers
  (``quantity`` -> 1..100 whole, ``price`` -> 1..1000 log-spread, ``latitude`` ->
  -90..90, ``year`` -> the database window's years);
- :class:`TextRule`: a vocabulary role (``email``, ``city``, ``status``, ...) and how
  often values repeat: ``categorical`` (a handful of labels, category codes of the
  causal model), ``repeated`` (tens to hundreds of values with popular ones, e.g.
  countries) or ``distinct`` (e-mails, phone numbers, comments: nearly every row its
  own value);
- :class:`DateRule`: birth dates lie 18-90 years before the window's end, every other
  date/timestamp within the window.

The tables of patterns below are the documentation's source (docs/schemas.md,
"Plausible values"): a pattern matches a token of the name (``words``) or a piece of
the run-together name (``parts``, for compounds such as ``supplycost``). The head
noun decides first (``email_status`` is a status, ``status_email`` an e-mail), then
any token, then the pieces. Columns that match nothing keep the generic landing
(numbers 0..1000, raw SCM values for DOUBLE, short labels for text).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from plurel_sql.schema.ir import Column, Table
from plurel_sql.values.names import NameWords, word_set

DISTRIBUTIONS = ("uniform", "log", "normal", "scm")
CARDINALITIES = ("categorical", "repeated", "distinct")


@dataclass(frozen=True)
class NumberRule:
    """Values spread over ``[lo, hi]`` by ``distribution`` of the SCM's ranks
    (``uniform``, ``log``: log-spaced, most values small; ``normal``: bell around
    the middle, +-3 sigma at the ends; ``scm``: the SCM's own shape, rescaled);
    ``integral``: whole numbers whatever the type."""

    role: str
    lo: float
    hi: float
    distribution: str = "uniform"
    integral: bool = False


@dataclass(frozen=True)
class TextRule:
    """Values from the ``role`` vocabulary (plurel_sql.values.vocab); ``words``
    replaces it with a fixed list (a user's override); a categorical column uses
    ``categories`` of the role's labels."""

    role: str
    cardinality: str
    words: tuple[str, ...] | None = None
    categories: int | None = None  # labels a categorical column uses (None: all)


@dataclass(frozen=True)
class DateRule:
    """``birth``: 18-90 years before the window's end; ``window``: within it;
    ``lo``/``hi``: the user's days (ISO dates)."""

    role: str
    lo: str | None = None
    hi: str | None = None


Rule = NumberRule | TextRule | DateRule


@dataclass(frozen=True)
class Pattern:
    role: str
    words: frozenset[str]
    parts: tuple[str, ...] = ()


def _p(role: str, words: str, parts: str = "") -> Pattern:
    return Pattern(role, word_set(words), tuple(parts.split()))


# ----------------------------------------------------------------------- numbers
#: role -> (lo, hi, distribution, integral)
NUMBER_SCALES: dict[str, tuple[float, float, str, bool]] = {
    "latitude": (-90.0, 90.0, "uniform", False),
    "longitude": (-180.0, 180.0, "uniform", False),
    "flag": (0.0, 1.0, "uniform", True),
    "percentage": (0.0, 100.0, "uniform", False),
    "discount": (0.0, 0.3, "uniform", False),
    "tax": (0.0, 0.25, "uniform", False),
    "ratio": (0.0, 1.0, "uniform", False),
    "rating": (1.0, 5.0, "normal", False),
    "score": (0.0, 100.0, "normal", False),
    "age": (18.0, 90.0, "normal", True),
    "month": (1.0, 12.0, "uniform", True),
    "day": (1.0, 28.0, "uniform", True),
    "weekday": (0.0, 6.0, "uniform", True),
    "quarter": (1.0, 4.0, "uniform", True),
    "week": (1.0, 52.0, "uniform", True),
    "hour": (0.0, 23.0, "uniform", True),
    "minute": (0.0, 59.0, "uniform", True),
    "milliseconds": (10.0, 600_000.0, "log", True),
    "seconds": (1.0, 36_000.0, "log", False),
    "minutes": (1.0, 600.0, "log", False),
    "hours": (0.0, 200.0, "log", False),
    "days": (0.0, 365.0, "log", True),
    "duration": (1.0, 10_000.0, "log", False),
    "salary": (20_000.0, 250_000.0, "log", False),
    "balance": (-1_000.0, 10_000.0, "uniform", False),
    "price": (1.0, 1_000.0, "log", False),
    "amount": (1.0, 10_000.0, "log", False),
    "quantity": (1.0, 100.0, "log", True),
    "count": (0.0, 1_000.0, "log", True),
    "size": (1.0, 50.0, "uniform", True),
    "position": (1.0, 30.0, "log", True),
    "level": (1.0, 10.0, "uniform", True),
    "version": (1.0, 20.0, "log", True),
    "number": (1.0, 9_999.0, "uniform", True),
    "identifier": (1.0, 1_000_000.0, "uniform", True),
    "temperature": (-20.0, 40.0, "normal", False),
    "altitude": (0.0, 4_000.0, "log", False),
    "population": (1_000.0, 10_000_000.0, "log", True),
    "weight": (0.1, 100.0, "log", False),
    "length": (0.1, 1_000.0, "log", False),
    "speed": (1.0, 300.0, "normal", False),
    "points": (0.0, 500.0, "log", False),
}

#: In priority order within each matching pass (head noun, any token, pieces).
NUMBER_PATTERNS = (
    _p("flag", "is has opted optin enabled active verified deleted subscribed flag"),
    _p("latitude", "latitude lat"),
    _p("longitude", "longitude lng lon long"),
    _p("percentage", "percent percentage pct", "percent"),
    _p("discount", "discount"),
    _p("tax", "tax vat"),
    _p("ratio", "rate ratio fraction share probability prob proportion"),
    _p("rating", "rating stars star"),
    _p("score", "score"),
    _p("age", "age"),
    _p("year", "year yr", "year"),
    _p("month", "month"),
    _p("day", "day dom"),
    _p("weekday", "weekday dow"),
    _p("quarter", "quarter qtr"),
    _p("week", "week"),
    _p("hour", "hour"),
    _p("minute", "minute second sec"),
    _p("milliseconds", "ms millis milliseconds msec"),
    _p("seconds", "seconds secs"),
    _p("minutes", "minutes mins"),
    _p("hours", "hours hrs"),
    _p("days", "days"),
    _p("duration", "duration elapsed runtime latency time"),
    _p("salary", "salary wage wages income"),
    _p("balance", "balance bal", "acctbal balance"),
    _p("price", "price cost fee fare charge msrp", "price cost"),
    _p(
        "amount",
        "amount amt total subtotal revenue sales payment paid spend budget turnover value",
        "amount total revenue",
    ),
    _p("quantity", "quantity qty units", "quantity qty"),
    _p(
        "count",
        "count cnt num stock inventory availqty available laps wins goals visits clicks "
        "views likes followers seats pages copies votes members employees children attempts "
        "retries items",
        "count availqty",
    ),
    _p("size", "size"),
    _p("position", "position rank grid place seq sequence order linenumber round"),
    _p("level", "level tier priority grade", "priority"),
    _p("version", "version revision"),
    _p("number", "number no nr"),
    _p("identifier", "id ref code key"),
    _p("temperature", "temperature temp celsius fahrenheit"),
    _p("altitude", "altitude elevation alt"),
    _p("population", "population inhabitants"),
    _p("weight", "weight kg mass grams lbs"),
    _p("length", "length width height depth distance km miles meters cm mm diameter area"),
    _p("speed", "speed kmh mph velocity"),
    _p("points", "points pts"),
)

# -------------------------------------------------------------------------- text
#: text role -> how often its values repeat
TEXT_CARDINALITY: dict[str, str] = {
    "email": "distinct",
    "first_name": "repeated",
    "last_name": "repeated",
    "person_name": "distinct",
    "username": "distinct",
    "phone": "distinct",
    "url": "distinct",
    "ip_address": "distinct",
    "street_address": "distinct",
    "postal_code": "distinct",
    "city": "repeated",
    "state": "repeated",
    "country": "repeated",
    "country_code": "repeated",
    "region": "categorical",
    "company": "distinct",
    "product": "distinct",
    "job": "repeated",
    "title": "distinct",
    "currency": "repeated",
    "language": "repeated",
    "color": "repeated",
    "code": "distinct",
    "comment": "distinct",
    "label": "repeated",
    # categorical in nature: a handful of labels
    "status": "categorical",
    "priority": "categorical",
    "segment": "categorical",
    "gender": "categorical",
    "mode": "categorical",
    "method": "categorical",
    "channel": "categorical",
    "flag": "categorical",
    "tier": "categorical",
    "container": "categorical",
    "clothing_size": "categorical",
    "unit": "categorical",
    "frequency": "categorical",
    "stage": "categorical",
    "instruction": "categorical",
    "department": "categorical",
    "category": "categorical",
    "type": "categorical",
}

TEXT_PATTERNS = (
    _p("email", "email mail emailaddress", "email"),
    _p("first_name", "firstname fname forename givenname", "firstname givenname forename"),
    _p("last_name", "lastname lname surname familyname", "lastname surname familyname"),
    _p("person_name", "fullname contactname clerk assignee author", "fullname contactname"),
    _p("username", "username login handle nickname screenname userid", "username nickname"),
    _p("phone", "phone phonenumber tel telephone mobile fax cell msisdn", "phone"),
    _p("url", "url uri website homepage link href web site", "website homepage url"),
    _p("ip_address", "ip ipv4 ipaddress", "ipaddress"),
    _p("postal_code", "zip zipcode postcode postal postalcode", "zipcode postcode postalcode"),
    _p("country_code", "countrycode iso iso2 iso3 cc", "countrycode"),
    _p("street_address", "address addr street line1 line2 address1 address2", "address street"),
    _p("city", "city town municipality location", "city"),
    _p("country", "country nation nationality", "country nation"),
    _p("region", "region continent", "region"),
    _p("state", "province county"),
    _p(
        "company",
        "company employer organization organisation org firm vendor supplier manufacturer mfgr "
        "publisher constructor sponsor carrier airline bank brand",
        "company manufacturer",
    ),
    _p("job", "job occupation profession jobtitle", "jobtitle occupation"),
    _p("title", "title headline subject caption"),
    _p("currency", "currency ccy", "currency"),
    _p("language", "language lang locale"),
    _p("color", "color colour"),
    _p(
        "comment",
        "comment comments description desc note notes remark remarks text body message msg "
        "summary bio about review content details detail feedback memo abstract",
        "comment description remark",
    ),
    _p("status", "status state condition", "status"),
    _p("priority", "priority urgency", "priority"),
    _p("segment", "segment", "segment"),
    _p("gender", "gender sex"),
    _p("mode", "mode shipmode transport", "shipmode"),
    _p("method", "method payment"),
    _p("channel", "channel source medium platform"),
    _p("flag", "flag", "flag"),
    _p("tier", "tier level grade plan membership"),
    _p("container", "container packaging package"),
    _p("unit", "unit uom"),
    _p("frequency", "frequency interval period"),
    _p("stage", "stage phase step"),
    _p("instruction", "instruction instructions", "instruct"),
    _p("department", "department departments dept division", "department"),
    _p("category", "category categories genre class classification group", "category"),
    _p("type", "type kind variety", "type"),
    _p("code", "code sku ean upc isbn serial barcode plate vin iban reference ref number no key"),
)

# Words of a table name that say what its rows are (for a column called ``name``).
PERSON_TABLES = word_set(
    "customer customers user users person people employee employees staff member members "
    "author authors driver drivers player players student students patient patients contact "
    "contacts client clients passenger passengers actor actors artist artists writer "
    "teacher teachers doctor doctors owner owners agent agents clerk manager"
)
COMPANY_TABLES = word_set(
    "company companies supplier suppliers vendor vendors manufacturer manufacturers team teams "
    "constructor constructors organization organizations organisation publisher publishers "
    "brand brands store stores shop shops carrier carriers airline airlines bank banks "
    "partner partners merchant merchants firm firms agency agencies club clubs"
)
PRODUCT_TABLES = word_set(
    "product products part parts item items article articles goods sku skus book books "
    "model models device devices"
)
PLACE_TABLES = {
    "country": word_set("country countries nation nations"),
    "city": word_set("city cities town towns"),
    "region": word_set("region regions continent continents"),
    "state": word_set("state states province provinces"),
}
#: Tables whose rows are the labels of a classification (small lookup tables).
LABEL_TABLES = word_set(
    "status statuses type types category categories kind kinds genre genres tag tags role "
    "roles segment segments priority priorities class classes level levels tier tiers "
    "channel channels method methods mode modes department departments unit units"
)
#: Head nouns that say little when other words qualify them (``phone_number``).
WEAK_HEADS = word_set("number no nr code id key ref value text data info")
#: Words of a text column that says what it is a name of.
NAME_WORDS = frozenset({"name", "nm", "label", "names"})


def column_rule(table: Table, column: Column, window: tuple[str, str]) -> Rule | None:
    """The value rule of ``column`` (see the module docstring); None: generic landing.

    ``window`` is the database time window (ISO dates), whose years bound a
    ``year`` column."""
    words = NameWords.of(column.name)
    t = column.type
    if t.is_number:
        return _number_rule(words, window)
    if t.name in ("date", "timestamp", "timestamptz"):
        birth = words.has(("birth", "dob", "birthday", "born")) or words.contains(("birth",))
        return DateRule("birth" if birth else "window")
    if t.is_text or t.name == "enum":
        role = _text_role(table, words)
        if role is None:
            return None
        if words.compact in NAME_WORDS:  # a table's own name column names its rows
            return TextRule(role, "distinct")
        return TextRule(role, TEXT_CARDINALITY[role])
    return None


def _match(
    patterns: tuple[Pattern, ...], words: NameWords, weak: frozenset[str] = frozenset()
) -> Pattern | None:
    """The first pattern matching, pass by pass: the longest compound word the name
    ends with (``emailaddress`` before ``address``), the head noun (unless it is
    ``weak`` and other words qualify it: ``phone_number``), any token, a piece."""
    compact, head = words.compact, words.head
    ending = [
        (len(w), p) for p in patterns for w in p.words if len(w) > len(head) and compact.endswith(w)
    ]
    if ending:
        return max(ending, key=lambda pair: pair[0])[1]
    if not (head in weak and len(words.tokens) > 1):
        for pattern in patterns:
            if head in pattern.words:
                return pattern
    for pattern in patterns:
        if words.has(pattern.words):
            return pattern
    for pattern in patterns:
        if pattern.parts and words.contains(pattern.parts):
            return pattern
    return None


def _number_rule(words: NameWords, window: tuple[str, str]) -> NumberRule | None:
    if words.tokens[:1] in (("is",), ("has",)):  # is_deleted, has_children: 0 or 1
        return NumberRule("flag", *NUMBER_SCALES["flag"])
    pattern = _match(NUMBER_PATTERNS, words, WEAK_HEADS)
    if pattern is None:
        return None
    if pattern.role == "year":
        if words.has(("birth", "born")):
            return NumberRule("year", 1935.0, 2006.0, "normal", True)
        first, last = (dt.date.fromisoformat(d).year for d in window)
        return NumberRule("year", float(first), float(last), "uniform", True)
    lo, hi, distribution, integral = NUMBER_SCALES[pattern.role]
    return NumberRule(pattern.role, lo, hi, distribution, integral)


def _text_role(table: Table, words: NameWords) -> str | None:
    table_words = NameWords.of(table.name)
    if words.head in NAME_WORDS or words.compact in NAME_WORDS:
        if len(words.tokens) == 1:
            return _name_role(table_words) or "label"
        return _name_role(NameWords(words.tokens[:-1])) or "label"
    if words.head == "state" and _has_address(table):
        return "state"
    pattern = _match(TEXT_PATTERNS, words, WEAK_HEADS)
    if pattern is not None and pattern.role == "country" and words.has(("code", "iso")):
        return "country_code"
    return pattern.role if pattern else None


def _name_role(words: NameWords) -> str | None:
    """What a ``name`` column holds, from the words that qualify it (the rest of
    its name, or its table's name)."""
    tokens = set(words.tokens)
    if tokens & {"first", "given", "fore", "middle"}:
        return "first_name"
    if tokens & {"last", "family", "sur"}:
        return "last_name"
    if tokens & PERSON_TABLES or tokens & {"full", "contact", "display"}:
        return "person_name"
    if tokens & COMPANY_TABLES:
        return "company"
    if tokens & PRODUCT_TABLES:
        return "product"
    for role, names in PLACE_TABLES.items():
        if tokens & names:
            return role
    if tokens & {"department", "departments", "dept", "division", "divisions"}:
        return "department"
    if tokens & LABEL_TABLES:
        return "category"
    for pattern in TEXT_PATTERNS:  # "file_name", "street_name"...: the qualifier's role
        if pattern.role in ("city", "country", "region", "company") and words.has(pattern.words):
            return pattern.role
    return None


def _has_address(table: Table) -> bool:
    """Whether the table has address-like columns (so ``state`` is a province)."""
    for column in table.columns:
        words = NameWords.of(column.name)
        if words.has(("city", "zip", "zipcode", "postcode", "address", "street", "country")):
            return True
    return False
