"""Schema IR -> SQLAlchemy MetaData (the only source of DDL).

Every column keeps its declared type (docs/schemas.md, "Types"), nullability and
order; PRIMARY KEY, FOREIGN KEY, UNIQUE and CHECK constraints come from the IR.
Where an engine lacks a type, the mapping adds a CHECK so the engine still enforces
the declared domain ("emulation checks": CHAR/VARCHAR lengths on DuckDB and SQLite,
ENUM labels on SQLite, TINYINT and UNSIGNED ranges on PostgreSQL and SQLite).

Constraint names: the user's where declared, otherwise deterministic ones:
``pk_<table>``, ``fk_<table>_<column>``, ``ck_<table>_<column>`` (``uq_``
likewise), shortened with a hash suffix beyond 63 characters (PostgreSQL's limit).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as sa_pg

from plurel_sql.errors import SchemaError
from plurel_sql.schema.ir import Atom, Check, Column, ForeignKey, Schema, Table
from plurel_sql.schema.sqltypes import SqlType

MAX_IDENTIFIER = 63


def quoted(name: str) -> sa.sql.quoted_name:
    """An identifier SQLAlchemy always quotes. Its reserved-word lists are per
    dialect and miss words other engines reserve (``at`` is reserved in DuckDB, not
    in PostgreSQL), so names from users' schemas are quoted unconditionally."""
    return sa.sql.quoted_name(name, quote=True)


def constraint_name(prefix: str, table: str, column: str | None = None) -> str:
    name = f"{prefix}_{table}" + (f"_{column}" if column else "")
    if len(name) <= MAX_IDENTIFIER:
        return quoted(name)
    digest = hashlib.sha1(name.encode("utf-8")).hexdigest()[:8]
    return quoted(f"{name[: MAX_IDENTIFIER - 9]}_{digest}")


class Declared(sa.types.UserDefinedType):
    """A type rendered exactly as given (SQLite keeps any declared type name)."""

    cache_ok = True

    def __init__(self, text: str) -> None:
        self.text = text

    def get_col_spec(self, **kw: Any) -> str:
        return self.text


def enum_type_name(table: str, column: Column) -> str:
    """The type name of an ENUM column (MySQL's inline ENUMs get ``<table>_<column>``)."""
    return column.type.enum_name or f"{table}_{column.name}"


def _duckdb_integer(t: SqlType) -> sa.types.TypeEngine | None:
    from duckdb_engine import datatypes as dd

    if t.unsigned:
        return {
            "tinyint": dd.UTinyInteger,
            "smallint": dd.USmallInteger,
            "integer": dd.UInteger,
            "bigint": dd.UBigInteger,
        }[t.name]()
    return dd.TinyInteger() if t.name == "tinyint" else None


def sa_type(table: str, column: Column, engine: str | None = None) -> sa.types.TypeEngine:
    """The SQLAlchemy type of a column for ``engine`` (duckdb/postgresql/sqlite)."""
    t = column.type
    name = t.name
    if t.is_integer:
        widths = ["tinyint", "smallint", "integer", "bigint"]
        # PostgreSQL has no TINYINT or UNSIGNED: the next signed width that holds it
        index = widths.index(name) + (1 if t.unsigned and name != "bigint" else 0)
        base = {0: sa.SmallInteger, 1: sa.SmallInteger, 2: sa.Integer, 3: sa.BigInteger}[index]()
        if engine == "duckdb":
            return _duckdb_integer(t) or base
        if engine == "sqlite":
            return Declared(t.sql())
        return base
    if name == "numeric":
        return sa.Numeric(t.precision, t.scale, asdecimal=True)
    if name == "real":
        return sa.REAL()
    if name == "double":
        return sa.Double()
    if name == "boolean":
        return sa.Boolean(create_constraint=False)
    if name == "char":
        return sa.CHAR(t.length)
    if name == "varchar":
        return sa.String(t.length)
    if name == "text":
        return sa.Text()
    if name == "date":
        return sa.Date()
    if name == "time":
        return sa.Time()
    if name in ("timestamp", "timestamptz"):
        tz = name == "timestamptz"
        return Declared(t.sql()) if engine == "sqlite" else sa.DateTime(timezone=tz)
    if name == "uuid":
        return Declared("UUID") if engine == "sqlite" else sa.Uuid(as_uuid=False)
    if name == "enum":
        if engine == "sqlite":
            return sa.Text()
        return sa_pg.ENUM(
            *(t.labels or []), name=quoted(enum_type_name(table, column)), create_type=False
        )
    raise SchemaError(f"{table}.{column.name}: no DDL for type {t.sql()}")


def _literal(value: Any, t: SqlType) -> Any:
    """A CHECK literal as the Python value SQLAlchemy renders for the column's type."""
    if isinstance(value, str) and t.name == "date":
        return dt.date.fromisoformat(value[:10])
    if isinstance(value, str) and t.name in ("timestamp", "timestamptz"):
        return dt.datetime.fromisoformat(value)
    return value


def atom_expression(atom: Atom, columns: Mapping[str, sa.Column], types: Mapping[str, SqlType]):
    """The SQLAlchemy expression of one CHECK conjunct."""
    col = columns[atom.column]
    t = types[atom.column]
    left = sa.func.length(col) if atom.length else col
    if atom.op == "not_null":
        return col.is_not(None)
    # plain bound literals (not an expanding IN parameter): DDL renders them inline,
    # queries bind them
    values = [sa.literal(v if atom.length else _literal(v, t)) for v in atom.values]
    if atom.op == "in":
        return left.in_(values)
    if atom.op == "not_in":
        return left.not_in(values)
    right = columns[atom.other] if atom.other is not None else values[0]
    return {
        "<": left < right,
        "<=": left <= right,
        ">": left > right,
        ">=": left >= right,
        "=": left == right,
        "<>": left != right,
    }[atom.op]


def check_expression(check: Check, columns: Mapping[str, sa.Column], types: Mapping[str, SqlType]):
    parts = [atom_expression(a, columns, types) for a in check.atoms]
    return parts[0] if len(parts) == 1 else sa.and_(*parts)


def _check_name(table: Table, check: Check, index: int) -> str:
    if check.name:
        return quoted(check.name)
    columns = check.columns
    return constraint_name("ck", table.name, columns[0] if len(columns) == 1 else str(index))


def emulation_checks(table: Table, engine: str | None) -> list[Check]:
    """CHECKs standing in for type parameters ``engine`` does not enforce itself."""
    out: list[Check] = []
    for column in table.columns:
        t = column.type
        if t.length and t.is_text and engine in ("duckdb", "sqlite"):
            sql = f"length({column.name}) <= {t.length}"
            atom = Atom("<=", column.name, values=[t.length], length=True)
            out.append(Check([atom], constraint_name("ck", table.name, column.name + "_len"), sql))
        if t.name == "enum" and engine == "sqlite":
            labels = list(t.labels or [])
            atom = Atom("in", column.name, values=labels)
            name = constraint_name("ck", table.name, column.name + "_enum")
            out.append(Check([atom], name, f"{column.name} IN enum labels"))
        if t.unsigned and not t.is_integer:  # no engine has unsigned decimals or floats
            atom = Atom(">=", column.name, values=[0])
            name = constraint_name("ck", table.name, column.name + "_unsigned")
            out.append(Check([atom], name, f"{column.name} >= 0"))
        narrow = t.name == "tinyint" or t.unsigned
        if t.is_integer and narrow and engine in ("postgresql", "sqlite"):
            lo, hi = t.integer_range()
            hi = min(hi, (1 << 63) - 1)
            atoms = [Atom(">=", column.name, values=[lo]), Atom("<=", column.name, values=[hi])]
            name = constraint_name("ck", table.name, column.name + "_range")
            out.append(Check(atoms, name, f"{column.name} BETWEEN {lo} AND {hi}"))
    return out


def _referenced(
    fk: ForeignKey,
    schema_ir: Schema | None,
    metadata: sa.MetaData,
    own: sa.Table | None,
    table: Table,
    db_schema: str | None,
    engine: str | None,
) -> list[sa.Column]:
    """Column objects of the referenced parent columns: from the table itself (self
    reference), from ``metadata`` when the parent was built, else from a stub."""
    if fk.parent == table.name and own is not None:
        return [own.c[c] for c in fk.parent_columns]
    key = f"{db_schema}.{fk.parent}" if db_schema else fk.parent
    parent = metadata.tables.get(key)
    if parent is None:
        if schema_ir is None:
            raise SchemaError(f"table {table.name}: foreign key to unknown table {fk.parent}")
        ir_parent = schema_ir.table(fk.parent)
        stub = sa.Table(
            quoted(fk.parent),
            sa.MetaData(),
            *[
                sa.Column(quoted(c), sa_type(fk.parent, ir_parent.column(c), engine))
                for c in fk.parent_columns
            ],
            schema=quoted(db_schema) if db_schema else None,
        )
        return [stub.c[c] for c in fk.parent_columns]
    return [parent.c[c] for c in fk.parent_columns]


def declared_foreign_keys(table: Table, engine: str | None) -> list[ForeignKey]:
    """The foreign keys ``engine`` can declare (DuckDB cannot declare one that
    closes a cycle between tables: it references a table created later and DuckDB
    cannot add foreign keys afterwards)."""
    return [
        fk
        for fk in table.foreign_keys
        if not (engine == "duckdb" and fk.closes_cycle and fk.parent != table.name)
    ]


def build_table(
    table: Table,
    metadata: sa.MetaData,
    db_schema: str | None,
    *,
    engine: str | None = None,
    keys: bool = True,
    foreign_keys: bool | None = None,
    schema: Schema | None = None,
) -> sa.Table:
    """The SQLAlchemy table of ``table`` in ``metadata``. ``keys=False`` leaves out
    the PRIMARY KEY and (unless ``foreign_keys=True``) the FOREIGN KEYs, to be added
    after the load; UNIQUE and CHECK constraints are always declared (DuckDB cannot
    add them later). Parents are looked up in ``metadata`` (or in ``schema`` for a
    foreign key that closes a cycle)."""
    foreign_keys = keys if foreign_keys is None else foreign_keys
    rowid = engine == "sqlite" and len(table.primary_key) == 1  # SQLite's fast rowid key
    columns = [
        sa.Column(
            quoted(c.name),
            Declared("INTEGER")
            if rowid and c.name == table.primary_key[0] and c.type.is_integer
            else sa_type(table.name, c, engine),
            nullable=c.nullable,
            autoincrement=False,
            server_default=sa.text(c.default) if c.default is not None else None,
        )
        for c in table.columns
    ]
    by_name = {c.name: col for c, col in zip(table.columns, columns, strict=True)}
    types = {c.name: c.type for c in table.columns}
    items: list[sa.SchemaItem] = list(columns)
    for i, check in enumerate([*table.checks, *emulation_checks(table, engine)]):
        items.append(
            sa.CheckConstraint(
                check_expression(check, by_name, types), name=_check_name(table, check, i)
            )
        )
    for unique in table.unique:
        name = unique.name or constraint_name("uq", table.name, "_".join(unique.columns))
        items.append(sa.UniqueConstraint(*[by_name[c] for c in unique.columns], name=quoted(name)))
    if keys and table.primary_key:
        items.append(
            sa.PrimaryKeyConstraint(
                *[by_name[c] for c in table.primary_key], name=constraint_name("pk", table.name)
            )
        )
    sa_table = sa.Table(
        quoted(table.name), metadata, *items, schema=quoted(db_schema) if db_schema else None
    )
    if foreign_keys:
        for fk in declared_foreign_keys(table, engine):
            sa_table.append_constraint(
                foreign_key_constraint(table, fk, sa_table, metadata, db_schema, engine, schema)
            )
    return sa_table


def foreign_key_constraint(
    table: Table,
    fk: ForeignKey,
    sa_table: sa.Table,
    metadata: sa.MetaData,
    db_schema: str | None,
    engine: str | None,
    schema: Schema | None,
) -> sa.ForeignKeyConstraint:
    refcolumns = _referenced(fk, schema, metadata, sa_table, table, db_schema, engine)
    name = fk.name or constraint_name("fk", table.name, "_".join(fk.columns))
    # DuckDB refuses ON DELETE / ON UPDATE actions and DEFERRABLE (it checks keys
    # per statement; the writer loads parents first, so that is enough)
    full = engine != "duckdb"
    return sa.ForeignKeyConstraint(
        [sa_table.c[c] for c in fk.columns],
        refcolumns,
        name=quoted(name),
        deferrable=(fk.deferrable or None) if full else None,
        initially="DEFERRED" if fk.initially_deferred and full else None,
        ondelete=fk.on_delete if full else None,
        onupdate=fk.on_update if full else None,
    )


def build_metadata(
    schema: Schema, db_schema: str | None = None, keys: bool = True, engine: str | None = None
) -> sa.MetaData:
    """MetaData for all tables of ``schema`` (parents first, as the IR orders them)."""
    metadata = sa.MetaData()
    names = set(schema.table_names)
    for table in schema.tables:
        for fk in table.foreign_keys:
            if fk.parent not in names:
                raise SchemaError(f"table {table.name}: foreign key to unknown table {fk.parent}")
        build_table(table, metadata, db_schema, engine=engine, keys=keys, schema=schema)
    return metadata


def enum_types(schema: Schema | Sequence[Table]) -> list[sa_pg.ENUM]:
    """The distinct ENUM types of the tables, in first-use order (CREATE TYPE them
    before the tables on PostgreSQL and DuckDB)."""
    tables = schema.tables if isinstance(schema, Schema) else schema
    seen: dict[str, sa_pg.ENUM] = {}
    for table in tables:
        for column in table.columns:
            if column.type.name == "enum":
                name = enum_type_name(table.name, column)
                seen.setdefault(name, sa_type(table.name, column, "postgresql"))
    return list(seen.values())


def engine_problems(schema: Schema, engine: str) -> list[str]:
    """What ``engine`` cannot store as declared: names that differ only in case
    (DuckDB and SQLite compare identifiers case-insensitively) and names longer than
    PostgreSQL's 63 bytes (it would cut them)."""
    problems = []

    def clashes(names: list[str], where: str) -> None:
        seen: dict[str, str] = {}
        for name in names:
            if engine in ("duckdb", "sqlite") and name.lower() in seen:
                problems.append(
                    f"{where}{name}: differs from {seen[name.lower()]} only in case, "
                    f"which {engine} cannot store side by side"
                )
            seen.setdefault(name.lower(), name)
            if engine == "postgresql" and len(name.encode("utf-8")) > MAX_IDENTIFIER:
                problems.append(f"{where}{name}: longer than PostgreSQL's 63-byte names")

    clashes(schema.table_names, "")
    for table in schema.tables:
        clashes(table.column_names(), f"{table.name}.")
    return problems


_DUCKDB_NAMES = {
    "tinyint": "TINYINT",
    "smallint": "SMALLINT",
    "integer": "INTEGER",
    "bigint": "BIGINT",
    "real": "FLOAT",
    "double": "DOUBLE",
    "boolean": "BOOLEAN",
    "char": "VARCHAR",
    "varchar": "VARCHAR",
    "text": "VARCHAR",
    "date": "DATE",
    "time": "TIME",
    "timestamp": "TIMESTAMP",
    "timestamptz": "TIMESTAMP WITH TIME ZONE",
    "uuid": "UUID",
}
_POSTGRES_NAMES = {
    "real": "real",
    "double": "double precision",
    "boolean": "boolean",
    "text": "text",
    "date": "date",
    "time": "time without time zone",
    "timestamp": "timestamp without time zone",
    "timestamptz": "timestamp with time zone",
    "uuid": "uuid",
}


def catalog_type(table: Table, column: Column, engine: str) -> str:
    """How ``engine``'s catalog spells the column's type once created from the IR
    (DuckDB: ``information_schema.columns.data_type``; PostgreSQL:
    ``format_type()``; SQLite: the declared type of ``PRAGMA table_info``). This is
    the documented mapping of docs/schemas.md, "Types"."""
    t = column.type
    if engine == "sqlite":
        if t.is_integer and table.primary_key == [column.name]:
            return "INTEGER"
        return str(sa_type(table.name, column, "sqlite").compile(dialect=_sqlite_dialect()))
    if engine == "duckdb":
        if t.is_integer and t.unsigned:
            return "U" + _DUCKDB_NAMES[t.name]
        if t.name == "numeric":
            precision, scale = (t.precision, t.scale or 0) if t.precision else (18, 3)
            return f"DECIMAL({precision},{scale})"
        if t.name == "enum":
            return (
                "ENUM(" + ", ".join("'" + x.replace("'", "''") + "'" for x in t.labels or []) + ")"
            )
        return _DUCKDB_NAMES[t.name]
    if t.is_integer:
        return str(sa_type(table.name, column, "postgresql").compile()).lower()
    if t.name == "numeric":
        return f"numeric({t.precision},{t.scale or 0})" if t.precision else "numeric"
    if t.name == "char":
        return f"character({t.length})"
    if t.name == "varchar":
        return f"character varying({t.length})" if t.length else "character varying"
    if t.name == "enum":
        name = enum_type_name(table.name, column)
        plain = name.isidentifier() and name == name.lower() and name.isascii()
        return name if plain else '"' + name.replace('"', '""') + '"'
    return _POSTGRES_NAMES[t.name]


def _sqlite_dialect() -> sa.engine.Dialect:
    from sqlalchemy.dialects import sqlite

    return sqlite.dialect()
