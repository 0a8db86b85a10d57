"""The Schema IR: the single plain-data description of a generated database.

DDL, the ``plurel_meta`` row, diagrams and the loader's vocabulary are all derived
from it. It serializes to JSON and back losslessly (:meth:`Schema.to_json`,
:meth:`Schema.from_json`).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from plurel_sql.errors import SchemaError

TableKind = Literal["entity", "activity"]
ColumnKind = Literal["numeric", "boolean", "categorical"]

IR_VERSION = 1


@dataclass
class Column:
    """A feature column as stored in the database.

    ``kind`` is the stored type: ``numeric`` (DOUBLE, nullable), ``boolean`` or
    ``categorical`` (text restricted to ``labels``). ``num_categories`` is the number
    of categories the structural causal model used for this column (a boolean
    column comes from a categorical one, booleanized as ``category > 0``);
    ``None`` for numeric columns.
    """

    name: str
    kind: ColumnKind
    labels: list[str] | None = None
    num_categories: int | None = None
    nullable: bool = False

    @property
    def scm_type(self) -> Literal["numerical", "categorical"]:
        return "numerical" if self.kind == "numeric" else "categorical"


@dataclass
class ForeignKey:
    """``column`` of the child table references ``parent``'s primary key."""

    column: str
    parent: str


@dataclass
class Table:
    name: str
    kind: TableKind
    num_rows: int
    primary_key: str
    foreign_keys: list[ForeignKey] = field(default_factory=list)
    features: list[Column] = field(default_factory=list)
    time_column: str | None = None

    @property
    def parents(self) -> list[str]:
        return [fk.parent for fk in self.foreign_keys]

    def column_names(self) -> list[str]:
        """Stored column order: primary key, foreign keys, features, timestamp."""
        names = [self.primary_key, *(fk.column for fk in self.foreign_keys)]
        names += [c.name for c in self.features]
        if self.time_column:
            names.append(self.time_column)
        return names

    def feature(self, name: str) -> Column:
        for column in self.features:
            if column.name == name:
                return column
        raise KeyError(name)


@dataclass
class Schema:
    """Tables in topological order (every parent before its children) plus the
    database time window and the validation/test cut-offs (ISO dates)."""

    tables: list[Table]
    min_date: str
    max_date: str
    val_cutoff: str
    test_cutoff: str
    origin: str = "random"

    def table(self, name: str) -> Table:
        for table in self.tables:
            if table.name == name:
                return table
        raise KeyError(name)

    @property
    def table_names(self) -> list[str]:
        return [t.name for t in self.tables]

    def children(self, name: str) -> list[str]:
        """Tables with a foreign key to ``name``."""
        return [t.name for t in self.tables if name in t.parents]

    def referenced(self) -> set[str]:
        return {p for t in self.tables for p in t.parents}

    def to_dict(self) -> dict[str, Any]:
        return {"ir_version": IR_VERSION, **asdict(self)}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Schema:
        if not isinstance(data, dict):
            raise SchemaError("invalid schema IR: expected a JSON object")
        try:
            version = data.get("ir_version", IR_VERSION)
            if version != IR_VERSION:
                raise SchemaError(f"unsupported schema IR version {version}")
            tables = [
                Table(
                    name=t["name"],
                    kind=t["kind"],
                    num_rows=int(t["num_rows"]),
                    primary_key=t["primary_key"],
                    foreign_keys=[ForeignKey(**fk) for fk in t["foreign_keys"]],
                    features=[Column(**c) for c in t["features"]],
                    time_column=t.get("time_column"),
                )
                for t in data["tables"]
            ]
            return cls(
                tables=tables,
                min_date=data["min_date"],
                max_date=data["max_date"],
                val_cutoff=data["val_cutoff"],
                test_cutoff=data["test_cutoff"],
                origin=data.get("origin", "random"),
            )
        except SchemaError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise SchemaError(f"invalid schema IR: {type(exc).__name__}: {exc}") from None

    @classmethod
    def from_json(cls, text: str) -> Schema:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SchemaError(f"invalid schema IR JSON: {exc}") from None
        return cls.from_dict(data)
