"""SQLAlchemy ``MetaData`` -> declared tables of the Schema IR.

Used for live PostgreSQL databases (SQLAlchemy reflection), for users' models
(``--schema-from package.module:metadata``, a MetaData or a declarative Base) and
for databases migrated by Alembic. Types map by SQLAlchemy type class; CHECK
constraints are parsed from their SQL text by the DDL reader, so they become the
same atoms as in a DDL file.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from plurel_sql.schema.ir import Column, ForeignKey, Table, Unique
from plurel_sql.schema.sql_parse import DdlReader, Declared
from plurel_sql.schema.sqltypes import SqlType


def sql_type(t: sa.types.TypeEngine) -> SqlType | None:
    """The IR type of a SQLAlchemy type (None: not supported)."""
    if isinstance(t, sa.types.TypeDecorator):
        t = t.impl_instance if hasattr(t, "impl_instance") else t.impl
    name = type(t).__name__.upper()
    if isinstance(t, sa.Enum):
        return SqlType("enum", labels=list(t.enums), enum_name=t.name)
    if isinstance(t, sa.Boolean):
        return SqlType("boolean")
    if isinstance(t, sa.SmallInteger):
        return SqlType("tinyint" if "TINY" in name else "smallint")
    if isinstance(t, sa.BigInteger):
        return SqlType("bigint")
    if isinstance(t, sa.Integer):
        return SqlType("tinyint" if "TINY" in name else "integer")
    if isinstance(t, sa.Float):
        single = isinstance(t, sa.REAL) or (t.precision is not None and t.precision <= 24)
        if "DOUBLE" in name or isinstance(t, sa.Double):
            single = False
        return SqlType("real" if single else "double")
    if isinstance(t, sa.Numeric):
        if t.precision is None:
            return SqlType("numeric")
        return SqlType("numeric", precision=t.precision, scale=t.scale or 0)
    if isinstance(t, sa.Uuid):
        return SqlType("uuid")
    if isinstance(t, sa.CHAR) or name in ("NCHAR", "BPCHAR"):
        return SqlType("char", length=t.length or 1)
    if isinstance(t, sa.Text) or name in ("CLOB",):
        return SqlType("text")
    if isinstance(t, sa.String):
        return SqlType("varchar", length=t.length)
    if isinstance(t, sa.DateTime):
        return SqlType("timestamptz" if t.timezone else "timestamp")
    if isinstance(t, sa.Date):
        return SqlType("date")
    if isinstance(t, sa.Time):
        return None if t.timezone else SqlType("time")
    return None


def tables_from_metadata(
    metadata: sa.MetaData, where: str, dialect: str = "postgres", skip: tuple[str, ...] = ()
) -> Declared:
    """The declared tables of ``metadata`` (tables named in ``skip`` or starting with
    ``plurel_`` are left out), in MetaData order."""
    reader = DdlReader(dialect, where)
    out = Declared()
    for sa_table in metadata.tables.values():
        if sa_table.name in skip or sa_table.name.startswith("plurel_"):
            continue
        out.tables.append(_table(sa_table, reader, out))
    out.problems += reader.out.problems
    out.notes += reader.out.notes
    return out


def _table(sa_table: sa.Table, reader: DdlReader, out: Declared) -> Table:
    table = Table(name=sa_table.name, kind="entity", num_rows=0, columns=[])
    for col in sa_table.columns:
        where = f"{table.name}.{col.name}"
        t = sql_type(col.type)
        if t is None:
            out.problems.append(f"{where}: type {col.type!r} is not supported")
            t = SqlType("text")
        column = Column(col.name, t, nullable=bool(col.nullable))
        if t.name == "enum":
            column.labels = list(t.labels or [])
        column.autoincrement = _autoincrement(sa_table, col)
        column.default = _default(col, reader)
        table.columns.append(column)
        if col.unique:
            table.unique.append(Unique([col.name]))
    table.primary_key = [c.name for c in sa_table.primary_key.columns]
    for constraint in sorted(sa_table.constraints, key=_constraint_order):
        if isinstance(constraint, sa.ForeignKeyConstraint):
            elements = list(constraint.elements)
            table.foreign_keys.append(
                ForeignKey(
                    [e.parent.name for e in elements],
                    elements[0].column.table.name if elements else "",
                    [e.column.name for e in elements],
                    name=_name(constraint),
                    deferrable=bool(constraint.deferrable),
                    initially_deferred=(constraint.initially or "").upper() == "DEFERRED",
                    on_delete=constraint.ondelete.upper() if constraint.ondelete else None,
                    on_update=constraint.onupdate.upper() if constraint.onupdate else None,
                )
            )
        elif isinstance(constraint, sa.UniqueConstraint):
            table.unique.append(Unique([c.name for c in constraint.columns], _name(constraint)))
        elif isinstance(constraint, sa.CheckConstraint):
            reader.check_text(table, _sql_text(constraint.sqltext), _name(constraint))
    for index in sa_table.indexes:
        if index.unique and all(isinstance(e, sa.Column) for e in index.expressions):
            table.unique.append(Unique([c.name for c in index.columns], _name(index)))
    for column in table.columns:
        if column.name in table.primary_key:
            column.nullable = False
    return table


def _constraint_order(constraint: sa.Constraint) -> tuple[str, str]:
    """Constraints in a stable order (a Table keeps them in a set)."""
    columns = ",".join(c.name for c in getattr(constraint, "columns", []))
    return type(constraint).__name__, f"{constraint.name or ''}:{columns}"


def _name(item: Any) -> str | None:
    name = getattr(item, "name", None)
    return str(name) if isinstance(name, str) and name else None


def _sql_text(expression: Any) -> str:
    """A CHECK's SQL text (reflected text, or a models' expression compiled with
    its literals inline)."""
    if isinstance(expression, str):
        return expression
    from sqlalchemy.dialects import postgresql

    return str(
        expression.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
    )


def _default_sql(col: sa.Column) -> str | None:
    default = col.server_default
    if default is None or not hasattr(default, "arg"):
        return None
    arg = default.arg
    return arg if isinstance(arg, str) else str(getattr(arg, "text", arg))


def _autoincrement(sa_table: sa.Table, col: sa.Column) -> bool:
    """IDENTITY or SERIAL (a nextval() default)."""
    return col.identity is not None or "nextval(" in (_default_sql(col) or "")


def _default(col: sa.Column, reader: DdlReader) -> str | None:
    text = _default_sql(col)
    return None if text is None else reader.default_text(text)
