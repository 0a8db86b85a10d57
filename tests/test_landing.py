"""Landing of raw SCM columns on declared types and CHECKs, and the links of keys:
each property checked on generated arrays (no engine)."""

from __future__ import annotations

import datetime as dt
import decimal
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from generator_helpers import small_config

from plurel_sql.generator.landing import ColumnSpec, land_column
from plurel_sql.generator.stream import DatabaseGenerator
from plurel_sql.rng import Draw, Name, stream
from plurel_sql.schema.domains import column_domain
from plurel_sql.schema.from_sql import schema_from_sql
from plurel_sql.schema.ir import Table
from plurel_sql.schema.sql_parse import parse_ddl

CORPUS = Path(__file__).parent.parent / "fixtures" / "schemas"
WINDOW = ("2001-03-04", "2004-05-06")


def _table(ddl: str) -> Table:
    declared = parse_ddl(ddl, "postgresql")
    assert not declared.problems, declared.problems
    return declared.tables[0]


def _land(table: Table, name: str, raw: np.ndarray | None, n: int, nulls: int = 0) -> pa.Array:
    column = table.column(name)
    spec = ColumnSpec(table.name, column, column_domain(table, column), *WINDOW, n, nulls)
    return land_column(spec, raw, stream(0, Draw.POSTPROCESS, Name(table.name), Name(name)))


@pytest.mark.parametrize("seed", range(5))
def test_landed_values_fit_their_declared_types(seed: int) -> None:
    table = _table(
        """CREATE TABLE t (
            tiny TINYINT NOT NULL,
            small SMALLINT CHECK (small BETWEEN -3 AND 3 AND small <> 0),
            price NUMERIC(7, 2) NOT NULL CHECK (price > 0),
            wide NUMERIC(5, 3),
            code CHAR(4) NOT NULL,
            label VARCHAR(6),
            kind TEXT CHECK (kind IN ('a', 'b', 'c')),
            day DATE NOT NULL CHECK (day >= '2002-01-01'),
            at TIMESTAMPTZ,
            clock TIME,
            id UUID NOT NULL,
            ok BOOLEAN
        )"""
    )
    rng = np.random.default_rng(seed)
    n = 2000
    raw = rng.standard_cauchy(n) * 1e6  # wild SCM output: the landing must tame it
    codes = rng.integers(0, 9, n)
    out = {
        c.name: _land(table, c.name, codes if c.scm_type == "categorical" else raw, n, nulls=50)
        for c in table.columns
        if c.name != "id"
    }
    out["id"] = _land(table, "id", None, n)
    tiny = out["tiny"].to_numpy()
    assert out["tiny"].type == pa.int8() and out["tiny"].null_count == 0
    assert tiny.min() >= -128 and tiny.max() <= 127
    small = np.array([v for v in out["small"].to_pylist() if v is not None])
    assert out["small"].null_count == 50 and set(small) <= {-3, -2, -1, 1, 2, 3}
    prices = [v for v in out["price"].to_pylist()]
    assert all(
        isinstance(v, decimal.Decimal) and v > 0 and v.as_tuple().exponent == -2 for v in prices
    )
    assert max(prices) < decimal.Decimal("100000")
    wide = [v for v in out["wide"].to_pylist() if v is not None]
    assert all(abs(v) < 100 for v in wide)
    assert {len(v) for v in out["code"].to_pylist()} == {4}
    assert all(len(v) <= 6 for v in out["label"].to_pylist() if v is not None)
    assert set(out["kind"].to_pylist()) - {None} <= {"a", "b", "c"}
    days = out["day"].to_pylist()
    assert all(dt.date(2002, 1, 1) <= d <= dt.date(2004, 5, 6) for d in days)
    assert out["at"].type == pa.timestamp("us", tz="UTC")
    ats = [v for v in out["at"].to_pylist() if v is not None]
    assert all(
        dt.datetime(2001, 3, 4, tzinfo=dt.UTC) <= v < dt.datetime(2004, 5, 7, tzinfo=dt.UTC)
        for v in ats
    )
    assert out["clock"].type == pa.time64("us")
    assert out["id"].null_count == 0 and len(set(out["id"].storage.to_pylist())) == n
    assert out["ok"].type == pa.bool_()


def test_landing_keeps_the_scm_order() -> None:
    """A monotone map of ranks: the SCM's ordering of rows survives landing."""
    table = _table("CREATE TABLE t (q INTEGER CHECK (q BETWEEN 1 AND 1000000))")
    raw = np.random.default_rng(3).normal(size=500)
    landed = _land(table, "q", raw, 500).to_numpy()
    order = np.argsort(raw)
    assert np.all(np.diff(landed[order]) >= 0)


def _generated(name: str, seed: int = 2) -> dict[str, pa.Table]:
    schema = schema_from_sql(CORPUS / f"{name}.sql", small_config(), seed)
    gen = DatabaseGenerator(small_config(), seed, chunk_rows=97, schema=schema)
    parts: dict[str, list] = {}
    for table, batch in gen.batches():
        parts.setdefault(table.name, []).append(batch)
    return {k: pa.Table.from_batches(v) for k, v in parts.items()}


def test_composite_keys_bridges_and_implied_foreign_keys() -> None:
    """lineitem: (orderkey, linenumber) unique with line numbers 1, 2, ... per order;
    partsupp: distinct (part, supplier) pairs; every lineitem (part, supplier) is a
    partsupp pair, so its part and supplier keys hold too."""
    data = _generated("tpch")
    line = data["lineitem"]
    pairs = list(zip(line["l_orderkey"].to_pylist(), line["l_linenumber"].to_pylist(), strict=True))
    assert len(set(pairs)) == len(pairs)
    by_order: dict[int, list[int]] = {}
    for order, number in pairs:
        by_order.setdefault(order, []).append(number)
    assert all(sorted(v) == list(range(1, len(v) + 1)) for v in by_order.values())
    ps = data["partsupp"]
    supply = set(zip(ps["ps_partkey"].to_pylist(), ps["ps_suppkey"].to_pylist(), strict=True))
    assert len(supply) == ps.num_rows
    used = set(zip(line["l_partkey"].to_pylist(), line["l_suppkey"].to_pylist(), strict=True))
    assert used <= supply


def test_self_reference_forest_cycle_and_null_rates() -> None:
    """employee.manager_id: every manager is an earlier row (never itself), row 0 and
    a NULL fraction of rows are roots; department.head_id (closing the cycle) points
    at existing employees, NULL at the configured rate."""
    data = _generated("org")
    emp = data["employee"]
    ids = emp["emp_id"].to_pylist()
    managers = emp["manager_id"].to_pylist()
    position = {e: i for i, e in enumerate(ids)}
    assert managers[0] is None
    for i, m in enumerate(managers):
        assert m is None or position[m] < i
    lo, hi = small_config().database.null_fraction
    roots = sum(m is None for m in managers)
    assert 1 <= roots <= int(np.ceil(hi * len(ids))) + 1
    heads = data["department"]["head_id"].to_pylist()
    assert {h for h in heads if h is not None} <= set(ids)
    nulls = sum(h is None for h in heads)
    assert int(np.ceil(lo * len(heads))) <= nulls <= int(np.floor(hi * len(heads))) + 1
