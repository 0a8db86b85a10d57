"""Column SQL types of the Schema IR, with their parameters, as the user declared them.

One :class:`SqlType` per column: a canonical type name from :data:`TYPE_NAMES` plus the
parameters that matter for values and DDL (length, precision and scale, signedness,
enum labels). Parsers map every dialect's spellings onto these names (``INT4`` and
``INT`` -> ``integer``, ``DATETIME`` -> ``timestamp``, ``TIMESTAMPTZ`` ->
``timestamptz``); DDL renders them back per engine (docs/schemas.md, "Types").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from plurel_sql.errors import SchemaError

INTEGER_BITS = {"tinyint": 8, "smallint": 16, "integer": 32, "bigint": 64}
TEXT_TYPES = ("char", "varchar", "text")
TEMPORAL_TYPES = ("date", "time", "timestamp", "timestamptz")
TYPE_NAMES = (
    *INTEGER_BITS,
    "numeric",
    "real",
    "double",
    "boolean",
    *TEXT_TYPES,
    *TEMPORAL_TYPES,
    "uuid",
    "enum",
)
#: Largest NUMERIC precision the engines share (DuckDB's DECIMAL stops at 38).
MAX_NUMERIC_PRECISION = 38


@dataclass
class SqlType:
    """A declared column type.

    ``length`` is the n of CHAR(n) / VARCHAR(n) (None: unbounded VARCHAR, or TEXT);
    ``precision``/``scale`` those of NUMERIC(p, s) (None: unconstrained NUMERIC);
    ``unsigned`` marks MySQL's UNSIGNED integers; ``labels`` are an ENUM's labels in
    declared order and ``enum_name`` its type name (None for MySQL's inline ENUM).
    """

    name: str
    length: int | None = None
    precision: int | None = None
    scale: int | None = None
    unsigned: bool = False
    labels: list[str] | None = None
    enum_name: str | None = None

    def __post_init__(self) -> None:
        if self.name not in TYPE_NAMES:
            raise SchemaError(f"unknown IR type {self.name!r}; expected one of {TYPE_NAMES}")
        if self.name == "enum" and not self.labels:
            raise SchemaError("an ENUM type needs at least one label")
        if self.precision is not None and not 1 <= self.precision <= MAX_NUMERIC_PRECISION:
            raise SchemaError(f"NUMERIC precision {self.precision} outside 1..38")
        if self.scale is not None and not 0 <= self.scale <= (self.precision or 0):
            raise SchemaError(f"NUMERIC scale {self.scale} outside 0..{self.precision}")
        if self.length is not None and self.length < 1:
            raise SchemaError(f"{self.name.upper()} length must be positive, got {self.length}")

    # --------------------------------------------------------------- families
    @property
    def is_integer(self) -> bool:
        return self.name in INTEGER_BITS

    @property
    def is_number(self) -> bool:
        """Integer, NUMERIC, REAL or DOUBLE."""
        return self.is_integer or self.name in ("numeric", "real", "double")

    @property
    def is_text(self) -> bool:
        return self.name in TEXT_TYPES

    @property
    def is_temporal(self) -> bool:
        return self.name in TEMPORAL_TYPES

    def integer_range(self) -> tuple[int, int]:
        """Inclusive value range of an integer type."""
        bits = INTEGER_BITS[self.name]
        if self.unsigned:
            return 0, (1 << bits) - 1
        return -(1 << (bits - 1)), (1 << (bits - 1)) - 1

    # ------------------------------------------------------------------- text
    def sql(self) -> str:
        """Canonical SQL spelling (PostgreSQL-flavoured), for messages and docs."""
        name = self.name
        if self.is_integer:
            return name.upper() + (" UNSIGNED" if self.unsigned else "")
        unsigned = " UNSIGNED" if self.unsigned else ""
        if name == "numeric":
            if self.precision is None:
                return "NUMERIC" + unsigned
            return f"NUMERIC({self.precision},{self.scale or 0})" + unsigned
        if name in ("char", "varchar"):
            return f"{name.upper()}({self.length})" if self.length else name.upper()
        if name == "double":
            return "DOUBLE PRECISION" + unsigned
        if name == "timestamptz":
            return "TIMESTAMP WITH TIME ZONE"
        if name == "enum":
            if self.enum_name:
                return self.enum_name
            quoted = ", ".join("'" + label.replace("'", "''") + "'" for label in self.labels or [])
            return f"ENUM({quoted})"
        return name.upper()

    # ------------------------------------------------------------------- JSON
    def to_dict(self) -> dict[str, Any]:
        """Only the parameters that are set (keeps the stored IR short)."""
        return {
            "name": self.name,
            **set_fields(
                self, ("length", "precision", "scale", "labels", "enum_name"), ("unsigned",)
            ),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SqlType:
        return cls(**data)


def set_fields(
    obj: object, optional: tuple[str, ...], flags: tuple[str, ...] = ()
) -> dict[str, Any]:
    """The ``optional`` attributes of ``obj`` that are not None and the ``flags`` that
    are true (JSON without defaults)."""
    out = {key: getattr(obj, key) for key in optional if getattr(obj, key) is not None}
    out.update({key: True for key in flags if getattr(obj, key)})
    return out
