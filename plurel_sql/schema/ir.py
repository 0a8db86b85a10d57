"""The Schema IR: the single plain-data description of a database.

DDL, the ``plurel_meta`` row, diagrams, checksums and the loader's vocabulary are all
derived from it. It describes random PluRel schemas and users' own schemas alike:

- a :class:`Table` lists its :class:`Column` s in declared order, each with its exact
  :class:`~plurel_sql.schema.sqltypes.SqlType` and nullability;
- constraints are table-level and name columns: the primary key (one or more
  columns), :class:`ForeignKey` s (composite, nullable, deferrable, self-referencing,
  or closing a cycle), :class:`Unique` constraints and :class:`Check` constraints
  parsed into conjunctions of simple comparisons (:class:`Atom`);
- :class:`Schema` orders tables so that every parent comes before its children,
  except along foreign keys marked ``closes_cycle`` (their links are filled after the
  rows exist).

It serializes to JSON and back losslessly (:meth:`Schema.to_json`,
:meth:`Schema.from_json`); version 1 (plurel-sql < 0.3: one integer key per table,
one-column foreign keys) is still read and converted. docs/schemas.md describes
the whole structure.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from plurel_sql.errors import SchemaError
from plurel_sql.schema.sqltypes import SqlType, set_fields

TableKind = Literal["entity", "activity"]
#: What a column holds, derived from its type: the loader builds cells and tasks for
#: numeric, boolean and categorical columns; text, temporal and uuid columns are
#: generated and stored but not (yet) turned into cells.
ColumnKind = Literal["numeric", "boolean", "categorical", "text", "temporal", "uuid"]
LEGACY_KINDS = ("numeric", "boolean", "categorical")

IR_VERSION = 2
#: Comparison operators of :class:`Atom` (column op value / column op column).
COMPARISONS = ("<", "<=", ">", ">=", "=", "<>")
ATOM_OPS = (*COMPARISONS, "in", "not_in", "not_null")


@dataclass
class Column:
    """A stored column: name, declared type and nullability.

    ``labels`` are the categories of a categorical column, in declared order: an
    ENUM's labels, or the list of a ``CHECK (col IN (...))`` on a text column (the
    check itself is in :attr:`Table.checks`). ``num_categories`` is the number of
    categories the structural causal model uses for the column (a boolean column
    comes from a categorical one, booleanized as ``category > 0``). ``default`` is a
    portable SQL default expression as text (a literal or ``CURRENT_TIMESTAMP``), and
    ``autoincrement`` marks SERIAL / IDENTITY / AUTO_INCREMENT columns.
    """

    name: str
    type: SqlType
    nullable: bool = True
    labels: list[str] | None = None
    num_categories: int | None = None
    default: str | None = None
    autoincrement: bool = False

    @property
    def kind(self) -> ColumnKind:
        t = self.type
        if self.labels is not None:
            return "categorical"
        if t.name == "boolean":
            return "boolean"
        if t.is_number:
            return "numeric"
        if t.is_temporal:
            return "temporal"
        if t.name == "uuid":
            return "uuid"
        return "text"

    @property
    def scm_type(self) -> Literal["numerical", "categorical"] | None:
        """How the structural causal model computes the column (None: it does not,
        e.g. a UUID carries no signal and is drawn per row)."""
        kind = self.kind
        if kind in ("boolean", "categorical") or (kind == "text" and self.num_categories):
            return "categorical"
        if kind == "uuid":
            return None
        return "numerical"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type.to_dict(),
            "nullable": self.nullable,
            **set_fields(self, ("labels", "num_categories", "default"), ("autoincrement",)),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Column:
        data = dict(data)
        data["type"] = SqlType.from_dict(data["type"])
        return cls(**data)


@dataclass
class ForeignKey:
    """``columns`` of the child table reference ``parent_columns`` of ``parent`` (the
    parent's primary key when the declaration names no columns; :class:`Schema`
    fills them in). ``closes_cycle`` marks the one foreign key per cycle of tables
    (or a self reference) whose links are written after the rows of both sides
    exist; such a key is nullable or deferrable."""

    columns: list[str]
    parent: str
    parent_columns: list[str] = field(default_factory=list)
    name: str | None = None
    deferrable: bool = False
    initially_deferred: bool = False
    on_delete: str | None = None
    on_update: str | None = None
    closes_cycle: bool = False

    @property
    def column(self) -> str:
        """The column of a one-column foreign key."""
        if len(self.columns) != 1:
            raise SchemaError(
                f"foreign key ({', '.join(self.columns)}) -> {self.parent} has "
                f"{len(self.columns)} columns where one was expected"
            )
        return self.columns[0]

    def to_dict(self) -> dict[str, Any]:
        return {
            "columns": self.columns,
            "parent": self.parent,
            "parent_columns": self.parent_columns,
            **set_fields(
                self,
                ("name", "on_delete", "on_update"),
                ("deferrable", "initially_deferred", "closes_cycle"),
            ),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ForeignKey:
        return cls(**data)


@dataclass
class Unique:
    """A UNIQUE constraint over one or more columns (NULLs never collide)."""

    columns: list[str]
    name: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"columns": self.columns, **({"name": self.name} if self.name else {})}


@dataclass
class Atom:
    """One conjunct of a CHECK: ``column op right``.

    ``op`` is one of :data:`ATOM_OPS`. For comparisons the right side is the other
    column ``other`` or the one literal in ``values``; ``in`` / ``not_in`` compare
    with all of ``values``; ``not_null`` has no right side. ``length`` compares the
    column's character length instead of its value (``char_length(code) = 3``).
    Literals are JSON values (numbers, strings, booleans); a string compared with a
    date or timestamp column is an ISO date/time.
    """

    op: str
    column: str
    values: list[Any] = field(default_factory=list)
    other: str | None = None
    length: bool = False

    def __post_init__(self) -> None:
        if self.op not in ATOM_OPS:
            raise SchemaError(f"unknown CHECK operator {self.op!r}")

    @property
    def columns(self) -> list[str]:
        return [self.column] + ([self.other] if self.other else [])

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"op": self.op, "column": self.column}
        if self.values:
            out["values"] = self.values
        if self.other is not None:
            out["other"] = self.other
        if self.length:
            out["length"] = True
        return out


@dataclass
class Check:
    """A CHECK constraint: the conjunction of ``atoms`` (an AND of simple shapes;
    ``BETWEEN`` becomes two comparisons). ``sql`` is the declared expression, for
    messages."""

    atoms: list[Atom]
    name: str | None = None
    sql: str = ""

    @property
    def columns(self) -> list[str]:
        seen: dict[str, None] = {}
        for atom in self.atoms:
            for column in atom.columns:
                seen.setdefault(column)
        return list(seen)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"atoms": [a.to_dict() for a in self.atoms], "sql": self.sql}
        if self.name:
            out["name"] = self.name
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Check:
        return cls(atoms=[Atom(**a) for a in data["atoms"]], name=data.get("name"), sql=data["sql"])


@dataclass
class Table:
    """A table: columns in declared order plus its constraints.

    ``kind`` is ``entity`` (some table references it) or ``activity`` (nobody does);
    ``time_column`` is the column whose values are spread over the database's time
    window in row order (the loader's split column), if any. ``primary_key`` lists
    the key's columns (empty: no primary key).
    """

    name: str
    kind: TableKind
    num_rows: int
    columns: list[Column]
    primary_key: list[str] = field(default_factory=list)
    foreign_keys: list[ForeignKey] = field(default_factory=list)
    unique: list[Unique] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    time_column: str | None = None

    # ---------------------------------------------------------------- lookups
    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)

    def column_names(self) -> list[str]:
        """Stored column order (as declared)."""
        return [c.name for c in self.columns]

    @property
    def row_key(self) -> str:
        """The one-column integer primary key (what readers use as the row id: the
        loader's walk and splits number rows with it)."""
        if len(self.primary_key) != 1:
            raise SchemaError(
                f"table {self.name}: readers need a one-column primary key, "
                f"found {len(self.primary_key)} column(s)"
            )
        key = self.column(self.primary_key[0])
        if not key.type.is_integer:
            raise SchemaError(
                f"table {self.name}: readers need an integer primary key, "
                f"{key.name} is {key.type.sql()}"
            )
        return key.name

    @property
    def parents(self) -> list[str]:
        return [fk.parent for fk in self.foreign_keys]

    def link_columns(self) -> set[str]:
        """Columns of every foreign key."""
        return {c for fk in self.foreign_keys for c in fk.columns}

    @property
    def features(self) -> list[Column]:
        """Value columns, in order: all but foreign-key columns, the time column and
        the key columns produced from row numbers (see :mod:`plurel_sql.schema.keys`)."""
        from plurel_sql.schema.keys import plan_keys

        skip = self.link_columns() | plan_keys(self)[0].generated
        if self.time_column:
            skip.add(self.time_column)
        return [c for c in self.columns if c.name not in skip]

    def feature(self, name: str) -> Column:
        for column in self.features:
            if column.name == name:
                return column
        raise KeyError(name)

    @property
    def cell_columns(self) -> list[Column]:
        """The value columns readers turn into cells and tasks (numeric, boolean and
        categorical ones)."""
        return [c for c in self.features if c.kind in LEGACY_KINDS]

    @property
    def scm_columns(self) -> list[Column]:
        """The value columns the structural causal model computes."""
        return [c for c in self.features if c.scm_type is not None]

    def checks_on(self, name: str) -> list[Check]:
        return [c for c in self.checks if name in c.columns]

    # ------------------------------------------------------------------- JSON
    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "num_rows": self.num_rows,
            "columns": [c.to_dict() for c in self.columns],
            "primary_key": self.primary_key,
            "foreign_keys": [fk.to_dict() for fk in self.foreign_keys],
            "unique": [u.to_dict() for u in self.unique],
            "checks": [c.to_dict() for c in self.checks],
            "time_column": self.time_column,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Table:
        return cls(
            name=data["name"],
            kind=data["kind"],
            num_rows=int(data["num_rows"]),
            columns=[Column.from_dict(c) for c in data["columns"]],
            primary_key=list(data["primary_key"]),
            foreign_keys=[ForeignKey.from_dict(fk) for fk in data["foreign_keys"]],
            unique=[Unique(**u) for u in data["unique"]],
            checks=[Check.from_dict(c) for c in data["checks"]],
            time_column=data.get("time_column"),
        )


@dataclass
class Schema:
    """Tables in dependency order (every parent before its children, except along
    foreign keys that close a cycle) plus the database time window and the
    validation/test cut-offs (ISO dates). ``origin`` says where the structure came
    from: ``random`` (stage 1), ``sql`` (a DDL file), ``database`` (a live database),
    ``models`` (SQLAlchemy models) or ``fabricated`` (tests)."""

    tables: list[Table]
    min_date: str
    max_date: str
    val_cutoff: str
    test_cutoff: str
    origin: str = "random"

    def __post_init__(self) -> None:
        by_name = {t.name: t for t in self.tables}
        for table in self.tables:
            for fk in table.foreign_keys:
                if not fk.parent_columns and fk.parent in by_name:
                    fk.parent_columns = list(by_name[fk.parent].primary_key)

    def table(self, name: str) -> Table:
        for table in self.tables:
            if table.name == name:
                return table
        raise KeyError(name)

    @property
    def table_names(self) -> list[str]:
        return [t.name for t in self.tables]

    def children(self, name: str) -> list[str]:
        """Tables with a foreign key to ``name`` (each once; a self reference counts)."""
        return [t.name for t in self.tables if name in t.parents]

    def referenced(self) -> set[str]:
        return {p for t in self.tables for p in t.parents}

    def to_dict(self) -> dict[str, Any]:
        return {
            "ir_version": IR_VERSION,
            "tables": [t.to_dict() for t in self.tables],
            "min_date": self.min_date,
            "max_date": self.max_date,
            "val_cutoff": self.val_cutoff,
            "test_cutoff": self.test_cutoff,
            "origin": self.origin,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Schema:
        if not isinstance(data, dict):
            raise SchemaError("invalid schema IR: expected a JSON object")
        version = data.get("ir_version", 1)
        if not isinstance(version, int) or version > IR_VERSION:
            raise SchemaError(
                f"schema IR version {version} is newer than this plurel-sql reads "
                f"(up to {IR_VERSION}); upgrade plurel-sql"
            )
        try:
            if version == 1:
                tables = [_table_from_v1(t) for t in data["tables"]]
            else:
                tables = [Table.from_dict(t) for t in data["tables"]]
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


# ---------------------------------------------------------------------------
# Tables of the random-schema shape (stage 1, tests, IR version 1)

KEY_TYPE = SqlType("bigint")
TIME_TYPE = SqlType("timestamp")


def value_column(
    name: str,
    kind: str,
    labels: Sequence[str] | None = None,
    num_categories: int | None = None,
) -> Column:
    """A nullable value column of one of the random schemas' kinds: ``numeric``
    (DOUBLE PRECISION), ``boolean`` or ``categorical`` (TEXT restricted to
    ``labels`` by a CHECK that :func:`simple_table` adds)."""
    if kind == "numeric":
        return Column(name, SqlType("double"))
    if kind == "boolean":
        return Column(name, SqlType("boolean"), num_categories=num_categories or 2)
    if kind == "categorical":
        labels = list(labels or [])
        return Column(
            name, SqlType("text"), labels=labels, num_categories=num_categories or len(labels)
        )
    raise SchemaError(f"unknown column kind {kind!r}; expected one of {LEGACY_KINDS}")


def labels_check(column: Column) -> Check:
    """``CHECK (column IN (labels))`` of a categorical text column."""
    labels = list(column.labels or [])
    quoted = ", ".join("'" + label.replace("'", "''") + "'" for label in labels)
    return Check([Atom("in", column.name, values=labels)], sql=f"{column.name} IN ({quoted})")


def simple_table(
    name: str,
    kind: TableKind,
    num_rows: int,
    primary_key: str,
    foreign_keys: Iterable[tuple[str, str]] = (),
    features: Iterable[Column] = (),
    time_column: str | None = None,
) -> Table:
    """A table of the random-schema shape: a BIGINT row key, one-column BIGINT NOT
    NULL foreign keys ``(column, parent)`` to the parents' keys, value columns and an
    optional TIMESTAMP NOT NULL time column, stored in that order."""
    fks = [ForeignKey([column], parent) for column, parent in foreign_keys]
    columns = [Column(primary_key, KEY_TYPE, nullable=False)]
    columns += [Column(fk.column, KEY_TYPE, nullable=False) for fk in fks]
    values = list(features)
    columns += values
    if time_column:
        columns.append(Column(time_column, TIME_TYPE, nullable=False))
    checks = [labels_check(c) for c in values if c.labels is not None]
    return Table(
        name=name,
        kind=kind,
        num_rows=num_rows,
        columns=columns,
        primary_key=[primary_key],
        foreign_keys=fks,
        checks=checks,
        time_column=time_column,
    )


def _table_from_v1(data: dict[str, Any]) -> Table:
    """A table of IR version 1 (key, foreign keys, features, time column)."""
    return simple_table(
        name=data["name"],
        kind=data["kind"],
        num_rows=int(data["num_rows"]),
        primary_key=data["primary_key"],
        foreign_keys=[(fk["column"], fk["parent"]) for fk in data["foreign_keys"]],
        features=[
            value_column(c["name"], c["kind"], c.get("labels"), c.get("num_categories"))
            for c in data["features"]
        ],
        time_column=data.get("time_column"),
    )
