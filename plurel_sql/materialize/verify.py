"""Re-check a generated database with SQL: keys, orphans, row counts, checksums.

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
from plurel_sql.materialize.ddl import build_metadata
from plurel_sql.materialize.meta import read_meta_from
from plurel_sql.schema.arrow import arrow_schema


@dataclass
class VerifyReport:
    """Problems found (empty = the database is consistent) and what was checked."""

    url: str
    tables: int = 0
    rows: int = 0
    problems: list[str] = field(default_factory=list)
    checksums: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems


def _scalar(dialect: Dialect, con: Any, stmt: Any) -> int:
    return int(dialect.fetchall(con, stmt)[0][0])


def verify_database(url: str | DatabaseURL | Engine, checksums: bool = True) -> VerifyReport:
    """Check the database at ``url`` against its ``plurel_meta`` (one read-only
    connection; driver errors become one-line DatabaseErrors)."""
    with using_engine(url) as engine:
        return _verify(engine.dialect, engine.connection(), checksums)


def _verify(dialect: Dialect, con: Any, checksums: bool) -> VerifyReport:
    meta = read_meta_from(dialect, con)
    schema = meta["schema"]
    report = VerifyReport(url=dialect.url.masked, tables=len(schema.tables))
    present = dialect.list_tables(con)
    metadata = build_metadata(schema, dialect.schema, keys=False)
    sa_tables = {t.name: t for t in metadata.tables.values()}
    for table in schema.tables:
        if table.name not in present:
            report.problems.append(f"{table.name}: table is missing")
            continue
        t = sa_tables[table.name]
        pk = t.c[table.primary_key]
        count = _scalar(dialect, con, sa.select(sa.func.count()).select_from(t))
        report.rows += count
        expected = meta["row_counts"].get(table.name)
        if expected != count:
            report.problems.append(f"{table.name}: {count} rows, plurel_meta records {expected}")
        nulls = _scalar(dialect, con, sa.select(sa.func.count()).where(pk.is_(None)))
        if nulls:
            report.problems.append(f"{table.name}: {nulls} NULL primary key(s)")
        distinct = _scalar(dialect, con, sa.select(sa.func.count(sa.distinct(pk))))
        if distinct != count - nulls:
            report.problems.append(
                f"{table.name}: {count - nulls - distinct} duplicate primary key value(s)"
            )
        for fk in table.foreign_keys:
            parent = sa_tables[fk.parent]
            ppk = parent.c[schema.table(fk.parent).primary_key]
            child_col = t.c[fk.column]
            orphan = sa.select(sa.func.count()).where(
                sa.or_(
                    child_col.is_(None),
                    ~sa.exists(sa.select(sa.literal_column("1")).where(ppk == child_col)),
                )
            )
            orphans = _scalar(dialect, con, orphan)
            if orphans:
                report.problems.append(
                    f"{table.name}.{fk.column}: {orphans} row(s) without a {fk.parent} parent"
                )
        if checksums:
            digest = TableChecksum(table)
            for batch in dialect.scan(con, t, arrow_schema(table)):
                digest.update(batch)
            report.checksums[table.name] = digest.hexdigest()
            recorded = meta["checksums"].get(table.name)
            if recorded != report.checksums[table.name]:
                report.problems.append(f"{table.name}: checksum differs from plurel_meta")
    return report
