"""A Schema IR from an SQL file of CREATE TABLE statements.

Engineers who need realistic, constraint-valid test data for *their* schema give
plurel-sql its DDL; the structure (tables, keys, column types) comes from the file
and the values from the PluRel stages 2 and 3.

The file is executed in an in-memory SQLite database and read back with SQLAlchemy
reflection (as the reference does), so any DDL SQLite accepts works. Mapping:

- a one-column integer PRIMARY KEY -> the table's key (composite keys are refused);
- a one-column FOREIGN KEY to another table's primary key -> a foreign key;
- BOOLEAN -> boolean feature; INTEGER, REAL, FLOAT, DOUBLE, NUMERIC, DECIMAL ->
  numeric feature (stored as DOUBLE PRECISION);
- a text column with ``CHECK (col IN ('a', 'b', ...))`` -> categorical feature with
  those labels (labels are kept, as the reference keeps SQL categories);
- one DATE / DATETIME / TIMESTAMP column per table -> the table's time column
  (timestamps evenly spaced over the database window, in row order).

Anything else (free text, BLOBs, a second time column, cycles of foreign keys, a
foreign key to a non-key column) is refused with a one-line SchemaError naming the
table and column. Tables nobody references are activity tables, the others entity
tables; their row counts are drawn from the configuration like random schemas.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from plurel_sql.config import Config
from plurel_sql.errors import SchemaError
from plurel_sql.rng import Draw, Name, stream
from plurel_sql.sampling import draw_int
from plurel_sql.schema.ir import Column, ForeignKey, Schema, Table
from plurel_sql.schema.sample import sample_time_window

_NUMERIC = ("INT", "REAL", "FLOA", "DOUB", "NUMERIC", "DECIMAL")
_TIME = ("DATE", "TIME")
_CHECK_IN = re.compile(r"^\s*\"?(?P<col>[\w]+)\"?\s+IN\s*\((?P<values>.*)\)\s*$", re.I | re.S)


def _reflect(sql: str, where: str) -> sa.Inspector:
    con = sqlite3.connect(":memory:")
    try:
        con.executescript(sql)
    except sqlite3.Error as exc:
        raise SchemaError(f"{where}: invalid SQL: {exc}") from None
    engine = sa.create_engine("sqlite://", creator=lambda: con)
    return sa.inspect(engine)


def _check_labels(checks: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Column -> labels of every ``CHECK (col IN ('a', ...))`` constraint."""
    out: dict[str, list[str]] = {}
    for check in checks:
        match = _CHECK_IN.match(check.get("sqltext") or "")
        if match:
            labels = re.findall(r"'((?:[^']|'')*)'", match.group("values"))
            out[match.group("col")] = [label.replace("''", "'") for label in labels]
    return out


def _feature(table: str, column: dict[str, Any], labels: list[str] | None) -> Column | None:
    """The IR column of a reflected column, or None for the time column."""
    name, type_name = column["name"], str(column["type"]).upper()
    if labels is not None:
        if len(set(labels)) < 2:
            raise SchemaError(f"{table}.{name}: a categorical column needs >= 2 labels")
        return Column(name, "categorical", labels=labels, num_categories=len(labels))
    if type_name.startswith("BOOL"):
        return Column(name, "boolean", num_categories=2)
    if any(type_name.startswith(t) for t in _TIME):
        return None
    if any(t in type_name for t in _NUMERIC):
        return Column(name, "numeric", nullable=True)
    raise SchemaError(
        f"{table}.{name}: type {type_name or 'untyped'} is not supported (use a number, "
        "BOOLEAN, a timestamp, or text with CHECK (col IN (...)))"
    )


def _table(inspector: sa.Inspector, name: str, tables: list[str]) -> tuple[Table, list[str]]:
    pk = inspector.get_pk_constraint(name)["constrained_columns"]
    if len(pk) != 1:
        raise SchemaError(f"{name}: needs a one-column primary key (found {len(pk)} columns)")
    columns = {c["name"]: c for c in inspector.get_columns(name)}
    if "INT" not in str(columns[pk[0]]["type"]).upper():
        raise SchemaError(f"{name}.{pk[0]}: the primary key must be an integer")
    foreign_keys, parents = [], []
    position = {column: i for i, column in enumerate(columns)}
    reflected = sorted(
        inspector.get_foreign_keys(name), key=lambda fk: position[fk["constrained_columns"][0]]
    )
    for fk in reflected:
        if len(fk["constrained_columns"]) != 1:
            raise SchemaError(f"{name}: composite foreign keys are not supported")
        parent, column = fk["referred_table"], fk["constrained_columns"][0]
        if parent not in tables:
            raise SchemaError(f"{name}.{column}: foreign key to unknown table {parent}")
        referred = inspector.get_pk_constraint(parent)["constrained_columns"]
        if fk["referred_columns"] not in ([], referred):
            raise SchemaError(f"{name}.{column}: must reference the primary key of {parent}")
        foreign_keys.append(ForeignKey(column=column, parent=parent))
        parents.append(parent)
    keys = {pk[0], *(fk.column for fk in foreign_keys)}
    labels = _check_labels(inspector.get_check_constraints(name))
    features, time_column = [], None
    for column in columns.values():
        if column["name"] in keys:
            continue
        feature = _feature(name, column, labels.get(column["name"]))
        if feature is not None:
            features.append(feature)
        elif time_column is not None:
            raise SchemaError(
                f"{name}: only one time column per table (found {time_column}, {column['name']})"
            )
        else:
            time_column = column["name"]
    table = Table(
        name=name,
        kind="entity",
        num_rows=0,
        primary_key=pk[0],
        foreign_keys=foreign_keys,
        features=features,
        time_column=time_column,
    )
    return table, parents


def _topological(tables: dict[str, tuple[Table, list[str]]], where: str) -> list[Table]:
    order: list[Table] = []
    done: set[str] = set()
    remaining = dict(tables)
    while remaining:
        ready = sorted(n for n, (_, ps) in remaining.items() if all(p in done for p in ps))
        if not ready:
            raise SchemaError(
                f"{where}: foreign keys form a cycle among {', '.join(sorted(remaining))}"
            )
        for name in ready:
            order.append(remaining.pop(name)[0])
            done.add(name)
    return order


def schema_from_sql(path: str | Path, config: Config, seed: int) -> Schema:
    """The Schema IR of the CREATE TABLE statements in ``path``; row counts and the
    time window are drawn from ``config`` under ``seed``."""
    path = Path(path)
    try:
        sql = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SchemaError(f"cannot read schema file {path}: {exc.strerror}") from None
    inspector = _reflect(sql, str(path))
    names = inspector.get_table_names()
    if not names:
        raise SchemaError(f"{path}: no CREATE TABLE statements found")
    tables = {name: _table(inspector, name, names) for name in names}
    ordered = _topological(tables, str(path))
    referenced = {p for _, parents in tables.values() for p in parents}
    db = config.database
    for table in ordered:
        table.kind = "entity" if table.name in referenced else "activity"
        bounds = db.entity_rows if table.kind == "entity" else db.activity_rows
        table.num_rows = draw_int(stream(seed, Draw.SCHEMA, Draw.ROWS, Name(table.name)), bounds)
    lo, hi, val, test = sample_time_window(config, seed)
    return Schema(
        tables=ordered, min_date=lo, max_date=hi, val_cutoff=val, test_cutoff=test, origin="sql"
    )
