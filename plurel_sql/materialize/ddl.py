"""Schema IR -> SQLAlchemy MetaData (the only source of DDL).

Column types: keys BIGINT (INTEGER for SQLite's primary key, so it is the rowid
alias), numeric DOUBLE PRECISION, boolean BOOLEAN, categorical TEXT with a
``CHECK (col IN (labels))``, time column TIMESTAMP (NOT NULL). Constraint names are
deterministic: ``pk_<table>``, ``fk_<table>_<column>``, ``ck_<table>_<column>``
(shortened with a hash suffix beyond 63 characters, PostgreSQL's identifier limit).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

import sqlalchemy as sa

from plurel_sql.errors import SchemaError
from plurel_sql.schema.ir import Column, Schema, Table

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


def _key_type(primary: bool) -> sa.types.TypeEngine:
    big = sa.BigInteger()
    return big.with_variant(sa.Integer(), "sqlite") if primary else big


def _feature_column(table: Table, column: Column) -> list[sa.SchemaItem]:
    if column.kind == "numeric":
        return [sa.Column(quoted(column.name), sa.Double(), nullable=True)]
    if column.kind == "boolean":
        return [sa.Column(quoted(column.name), sa.Boolean(create_constraint=False), nullable=True)]
    col = sa.Column(quoted(column.name), sa.Text(), nullable=True)
    check = sa.CheckConstraint(
        col.in_(list(column.labels or [])), name=constraint_name("ck", table.name, column.name)
    )
    return [col, check]


def build_table(
    table: Table,
    metadata: sa.MetaData,
    schema: str | None,
    primary_keys: Mapping[str, str],
    keys: bool = True,
    foreign_keys: bool | None = None,
) -> sa.Table:
    """The SQLAlchemy table of ``table``; ``primary_keys`` maps every table of the
    schema to its key column (what the foreign keys reference). ``keys=False`` leaves
    out the PRIMARY KEY and (unless ``foreign_keys=True``) the FOREIGN KEYs; they are
    then added after the load with :func:`key_constraints`."""
    foreign_keys = keys if foreign_keys is None else foreign_keys
    items: list[sa.SchemaItem] = [
        sa.Column(quoted(table.primary_key), _key_type(True), nullable=False, autoincrement=False)
    ]
    for fk in table.foreign_keys:
        items.append(sa.Column(quoted(fk.column), _key_type(False), nullable=False))
    for column in table.features:
        items.extend(_feature_column(table, column))
    if table.time_column:
        items.append(sa.Column(quoted(table.time_column), sa.DateTime(), nullable=False))
    if keys:
        items.append(
            sa.PrimaryKeyConstraint(table.primary_key, name=constraint_name("pk", table.name))
        )
    if foreign_keys:
        for fk in table.foreign_keys:
            target = f"{schema}.{fk.parent}" if schema else fk.parent
            items.append(
                sa.ForeignKeyConstraint(
                    [fk.column],
                    [f"{target}.{primary_keys[fk.parent]}"],
                    name=constraint_name("fk", table.name, fk.column),
                )
            )
    return sa.Table(quoted(table.name), metadata, *items, schema=quoted(schema) if schema else None)


def build_metadata(schema: Schema, db_schema: str | None = None, keys: bool = True) -> sa.MetaData:
    """MetaData for all tables of ``schema`` (parents first, as the IR orders them)."""
    metadata = sa.MetaData()
    pks = primary_keys(schema)
    for table in schema.tables:
        _ensure_parent_known(table, pks)
        build_table(table, metadata, db_schema, pks, keys=keys)
    return metadata


def primary_keys(schema: Schema) -> dict[str, str]:
    """Each table's primary-key column, by table name."""
    return {t.name: t.primary_key for t in schema.tables}


def _ensure_parent_known(table: Table, pks: dict[str, str]) -> None:
    for fk in table.foreign_keys:
        if fk.parent not in pks:
            raise SchemaError(f"table {table.name}: foreign key to unknown table {fk.parent}")


def key_constraints(
    sa_table: sa.Table, table: Table, schema: str | None, primary_keys: Mapping[str, str]
) -> list:
    """PRIMARY KEY and FOREIGN KEY constraints of a table built with ``keys=False``,
    to be added with ``ALTER TABLE ... ADD CONSTRAINT`` after the load."""
    metadata = sa.MetaData()
    shadow = sa.Table(
        table.name,
        metadata,
        *[sa.Column(c.name, c.type) for c in sa_table.columns],
        schema=schema,
    )
    for fk in table.foreign_keys:  # referenced tables must exist in this MetaData
        if not any(t.name == fk.parent for t in metadata.tables.values()):
            sa.Table(
                fk.parent,
                metadata,
                sa.Column(primary_keys[fk.parent], sa.BigInteger),
                schema=schema,
            )
    out: list[sa.Constraint] = []
    pk = sa.PrimaryKeyConstraint(
        shadow.c[table.primary_key], name=constraint_name("pk", table.name)
    )
    shadow.append_constraint(pk)
    out.append(pk)
    for fk in table.foreign_keys:
        target = f"{schema}.{fk.parent}" if schema else fk.parent
        constraint = sa.ForeignKeyConstraint(
            [shadow.c[fk.column]],
            [f"{target}.{primary_keys[fk.parent]}"],
            name=constraint_name("fk", table.name, fk.column),
        )
        shadow.append_constraint(constraint)
        out.append(constraint)
    return out
