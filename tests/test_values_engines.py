"""Plausible values end to end: every schema of the fixtures corpus generated into
DuckDB, then read back with SQL and checked against the rules its columns match."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest

import plurel_sql
from plurel_sql.config import default_config
from plurel_sql.generator.landing import _plausible_range
from plurel_sql.materialize.meta import read_meta
from plurel_sql.materialize.verify import verify_database
from plurel_sql.schema.domains import column_domain
from plurel_sql.values.plan import landing_rule
from plurel_sql.values.rules import NumberRule, TextRule

FIXTURES = Path(__file__).parent.parent / "fixtures"
CORPUS = sorted([*FIXTURES.glob("*.sql"), *FIXTURES.glob("schemas/*.sql")])
PATTERNS = {
    "email": r"^[a-z0-9]+\.[a-z0-9]+\d*@[a-z0-9.-]+\.[a-z]+$",
    "phone": r"^(\+1-\d{3}-\d{3}-\d{4}|\(\d{3}\) \d{3}-\d{4}|\d{3}-\d{3}-\d{4}|\d+)$",
    "url": r"^https://www\.[a-z0-9-]+\.[a-z]+/$",
    "postal_code": r"^\d+$",
    "ip_address": r"^\d+\.\d+\.\d+\.\d+$",
}


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.name)
def test_fixture_values_are_plausible_in_duckdb(path: Path, tmp_path: Path) -> None:
    url = f"duckdb:///{tmp_path / 'db.duckdb'}"
    config = default_config()
    plurel_sql.generate(url, 1, config, schema_sql=path)
    assert verify_database(url).ok
    meta = read_meta(url)
    assert meta["libraries"]["faker"]
    schema = meta["schema"]
    window = (schema.min_date, schema.max_date)
    con = duckdb.connect(str(tmp_path / "db.duckdb"), read_only=True)
    checked = 0
    for table in schema.tables:
        for column in table.features:
            rule = landing_rule(table, column, window, config, 1)
            sql_column = f"{_quoted(column.name)}"
            rows = con.execute(
                f"SELECT {sql_column} FROM {_quoted(table.name)} WHERE {sql_column} IS NOT NULL"
            ).fetchall()
            values = [r[0] for r in rows]
            if not values:
                continue
            where = f"{path.name}: {table.name}.{column.name}"
            if isinstance(rule, NumberRule) and column.labels is None:
                fitted = _plausible_range(column.type, rule, column_domain(table, column))
                if fitted is not None:
                    lo, hi = fitted
                    assert lo - 1e-9 <= min(values) and max(values) <= hi + 1e-9, where
                    checked += 1
            elif isinstance(rule, TextRule) and column.labels is None:
                if column.type.length:
                    assert max(len(v) for v in values) <= column.type.length, where
                pattern = PATTERNS.get(rule.role)
                if pattern:
                    bad = [v for v in values if not re.match(pattern, v.rstrip())]
                    assert not bad, (where, bad[:3])
                if rule.cardinality == "categorical":
                    assert len(set(values)) <= (rule.categories or len(rule.words or ())), where
                checked += 1
    con.close()
    assert checked > 0
