"""Re-check a generated database with SQL: keys, constraints, orphans, row counts,
checksums, and drift of the live schema from the one in ``plurel_meta`` (Alembic).

Every check runs on the engine itself (SQLAlchemy Core statements compiled for the
dialect); checksums are recomputed from a primary-key-ordered scan with the same
definition used while loading (:mod:`plurel_sql.checksum`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from plurel_sql.checksum import TableChecksum
from plurel_sql.dialects import DatabaseURL, Dialect, Engine, using_engine
from plurel_sql.materialize.ddl import build_metadata, check_expression
from plurel_sql.materialize.meta import read_meta_from
from plurel_sql.materialize.migrations import schema_drift
from plurel_sql.schema.arrow import arrow_schema
from plurel_sql.schema.ir import Table


@dataclass
class VerifyReport:
    """Problems found (empty = the database is consistent) and what was checked."""

    url: str
    tables: int = 0
    rows: int = 0
    problems: list[str] = field(default_factory=list)
    checksums: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _scalar(dialect: Dialect, con: Any, stmt: Any) -> int:
    return int(dialect.fetchall(con, stmt)[0][0])


def verify_database(url: str | DatabaseURL | Engine, checksums: bool = True) -> VerifyReport:
    """Check the database at ``url`` against its ``plurel_meta`` (one read-only
    connection; driver errors become one-line DatabaseErrors)."""
    with using_engine(url) as engine:
        folder_check = getattr(engine.dialect, "verify", None)
        if folder_check is not None:  # relbench:// and parquet:// folders (interop/check.py)
            return folder_check(checksums)
        return _verify(engine, checksums)


def _verify(engine: Engine, checksums: bool) -> VerifyReport:
    dialect, con = engine.dialect, engine.connection()
    meta = read_meta_from(dialect, con)
    schema = meta["schema"]
    report = VerifyReport(url=dialect.url.masked, tables=len(schema.tables))
    present = dialect.list_tables(con)
    metadata = build_metadata(schema, dialect.schema)
    sa_tables = {t.name: t for t in metadata.tables.values()}
    for table in schema.tables:
        if table.name not in present:
            report.problems.append(f"{table.name}: table is missing")
            continue
        t = sa_tables[table.name]
        count = _scalar(dialect, con, sa.select(sa.func.count()).select_from(t))
        report.rows += count
        expected = meta["row_counts"].get(table.name)
        if expected != count:
            report.problems.append(f"{table.name}: {count} rows, plurel_meta records {expected}")
        report.problems += constraint_problems(dialect, con, table, t, sa_tables)
        if checksums:
            digest = TableChecksum(table)
            for batch in dialect.scan(con, t, arrow_schema(table)):
                digest.update(batch)
            report.checksums[table.name] = digest.hexdigest()
            recorded = meta["checksums"].get(table.name)
            if recorded != report.checksums[table.name]:
                report.problems.append(f"{table.name}: checksum differs from plurel_meta")
    report.problems += [f"drift: {line}" for line in schema_drift(engine, schema)]
    return report


def constraint_problems(
    dialect: Dialect, con: Any, table: Table, t: sa.Table, sa_tables: dict[str, sa.Table]
) -> list[str]:
    """Every declared constraint of ``table`` re-checked with SQL on the engine: NOT
    NULL, primary key and UNIQUE duplicates, CHECKs, foreign keys without a parent
    row, and self references that do not form a forest."""
    problems = []
    for column in table.columns:
        if not column.nullable:
            nulls = _scalar(
                dialect, con, sa.select(sa.func.count()).where(t.c[column.name].is_(None))
            )
            if nulls:
                problems.append(f"{table.name}.{column.name}: {nulls} NULL value(s) in NOT NULL")
    keys = [("primary key", table.primary_key)] if table.primary_key else []
    keys += [(f"UNIQUE ({', '.join(u.columns)})", u.columns) for u in table.unique]
    for what, columns in keys:
        cols = [t.c[c] for c in columns]
        groups = (
            sa.select(*cols)
            .where(*[c.is_not(None) for c in cols])
            .group_by(*cols)
            .having(sa.func.count() > 1)
            .subquery()
        )
        duplicated = _scalar(dialect, con, sa.select(sa.func.count()).select_from(groups))
        if duplicated:
            problems.append(f"{table.name}: {duplicated} duplicated {what} value(s)")
    types = {c.name: c.type for c in table.columns}
    by_name = {c.name: t.c[c.name] for c in table.columns}
    for check in table.checks:
        bad = _scalar(
            dialect,
            con,
            sa.select(sa.func.count()).where(sa.not_(check_expression(check, by_name, types))),
        )
        if bad:
            problems.append(f"{table.name}: {bad} row(s) violate CHECK ({check.sql})")
    for fk in table.foreign_keys:
        parent = sa_tables[fk.parent].alias("parent")
        child = [t.c[c] for c in fk.columns]
        match = sa.and_(*[parent.c[p] == c for p, c in zip(fk.parent_columns, child, strict=True)])
        orphan = sa.select(sa.func.count()).where(
            *[c.is_not(None) for c in child],
            ~sa.exists(sa.select(sa.literal_column("1")).select_from(parent).where(match)),
        )
        orphans = _scalar(dialect, con, orphan)
        if orphans:
            where = f"{table.name}.{', '.join(fk.columns)}"
            problems.append(f"{where}: {orphans} row(s) without a {fk.parent} parent")
        if fk.parent == table.name:
            problems += _forest_problems(dialect, con, table, t, fk.columns, fk.parent_columns)
    return problems


def _forest_problems(
    dialect: Dialect, con: Any, table: Table, t: sa.Table, columns: list[str], keys: list[str]
) -> list[str]:
    """A self reference must form a forest: walking down from the rows without a
    parent reaches every row (a loop, or a row pointing at itself, is never reached)."""
    child = [t.c[c] for c in columns]
    key = [t.c[k] for k in keys]
    roots = sa.select(*key).where(sa.or_(*[c.is_(None) for c in child]))
    reached = roots.cte("reached", recursive=True)
    below = t.alias("below")
    reached = reached.union(
        sa.select(*[below.c[k] for k in keys]).join_from(
            below,
            reached,
            sa.and_(*[below.c[c] == reached.c[k] for c, k in zip(columns, keys, strict=True)]),
        )
    )
    count = _scalar(dialect, con, sa.select(sa.func.count()).select_from(t))
    reachable = _scalar(dialect, con, sa.select(sa.func.count()).select_from(reached))
    if reachable != count:
        return [
            f"{table.name}.{', '.join(columns)}: {count - reachable} row(s) in a self-reference "
            "loop (not reachable from a root)"
        ]
    return []
