"""Stage 1: sampled schemas, the IR round trip, and the column-count power law."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest
from scipy import stats

from plurel_sql.checksum import column_roles
from plurel_sql.config import default_config
from plurel_sql.errors import SchemaError
from plurel_sql.sampling import power_law_pmf
from plurel_sql.schema.ir import Atom, Check, Column, ForeignKey, Schema, Table, Unique
from plurel_sql.schema.sample import sample_schema
from plurel_sql.schema.sqltypes import SqlType


@pytest.mark.parametrize("seed", range(30))
def test_schema_structure_follows_the_method(seed: int) -> None:
    cfg = default_config()
    schema = sample_schema(cfg, seed)
    assert 3 <= len(schema.tables) <= 20
    seen: set[str] = set()
    referenced = schema.referenced()
    for table in schema.tables:
        assert all(p in seen for p in table.parents), "tables must be in topological order"
        seen.add(table.name)
        is_entity = table.name in referenced
        assert table.kind == ("entity" if is_entity else "activity")
        assert (table.time_column is not None) == (table.kind == "activity")
        lo, hi = cfg.database.entity_rows if is_entity else cfg.database.activity_rows
        assert lo <= table.num_rows <= hi
        assert 3 <= len(table.features) <= 40
        for column in table.features:
            assert column.kind in ("numeric", "boolean")
            if column.kind == "boolean":
                assert 2 <= column.num_categories <= 10
    lo, hi = dt.date.fromisoformat(schema.min_date), dt.date.fromisoformat(schema.max_date)
    val, test = dt.date.fromisoformat(schema.val_cutoff), dt.date.fromisoformat(schema.test_cutoff)
    assert dt.date(1990, 1, 1) <= lo < hi <= dt.date(2025, 1, 1)
    assert lo <= val <= test <= hi


@pytest.mark.parametrize("seed", range(10))
def test_schema_ir_round_trips_through_json(seed: int) -> None:
    schema = sample_schema(default_config(), seed)
    assert Schema.from_json(schema.to_json()) == schema


def test_invalid_ir_json_is_a_one_line_error() -> None:
    for text in ["{", '{"tables": 3}', "[]"]:
        with pytest.raises(SchemaError) as info:
            Schema.from_json(text)
        assert "\n" not in str(info.value)


def test_feature_column_counts_follow_the_power_law() -> None:
    cfg = default_config()
    counts = [len(t.features) for seed in range(300) for t in sample_schema(cfg, seed).tables]
    support, probs = power_law_pmf(cfg.database.feature_columns)
    observed = np.array([counts.count(int(k)) for k in support])
    expected = probs * len(counts)
    assert expected.min() >= 5  # every bin large enough for a chi-square test
    assert stats.chisquare(observed, expected).pvalue > 1e-3
    # and the shape: most tables narrow, a few wide
    assert np.median(counts) <= 10 < np.percentile(counts, 90)


def test_max_foreign_keys_limits_every_table() -> None:
    cfg = default_config().override(database={"max_foreign_keys": 1, "num_tables": [5, 12]})
    for seed in range(20):
        assert all(len(t.foreign_keys) <= 1 for t in sample_schema(cfg, seed).tables)


def test_without_booleanization_categoricals_keep_labels() -> None:
    cfg = default_config().override(database={"booleanize_categoricals": False})
    kinds = {c.kind for s in range(10) for t in sample_schema(cfg, s).tables for c in t.features}
    assert "categorical" in kinds and "boolean" not in kinds


def _rich_schema() -> Schema:
    """Every part of IR version 2: types with parameters, composite and nullable
    keys, a self reference, a cycle, UNIQUE and parsed CHECKs."""
    mood = SqlType("enum", labels=["sad", "ok"], enum_name="mood")
    region = Table(
        "region",
        "entity",
        5,
        [
            Column("id", SqlType("smallint"), nullable=False),
            Column("name", SqlType("varchar", length=25), nullable=False),
            Column("boss", SqlType("smallint")),
            Column("capital", SqlType("integer")),
        ],
        primary_key=["id"],
        foreign_keys=[ForeignKey(["boss"], "region", closes_cycle=True)],
        unique=[Unique(["name"])],
    )
    city = Table(
        "city",
        "activity",
        40,
        [
            Column("region_id", SqlType("smallint"), nullable=False),
            Column("n", SqlType("integer"), nullable=False),
            Column("price", SqlType("numeric", precision=15, scale=2)),
            Column("mood", mood, labels=["sad", "ok"], num_categories=2),
            Column("at", SqlType("timestamptz"), nullable=False, default="CURRENT_TIMESTAMP"),
            Column("id", SqlType("uuid"), nullable=False),
        ],
        primary_key=["region_id", "n"],
        foreign_keys=[
            ForeignKey(["region_id"], "region", ["id"], name="fk_c", on_delete="CASCADE")
        ],
        checks=[
            Check(
                [Atom(">=", "price", values=[0]), Atom("<=", "price", values=[1000])],
                sql="price BETWEEN 0 AND 1000",
            )
        ],
        time_column="at",
    )
    region.foreign_keys.append(
        ForeignKey(["capital"], "city", ["n"], deferrable=True, closes_cycle=True)
    )
    return Schema([region, city], "2000-01-01", "2001-01-01", "2000-10-01", "2000-11-01", "sql")


def test_rich_ir_round_trips_through_json() -> None:
    schema = _rich_schema()
    assert schema.tables[0].foreign_keys[0].parent_columns == ["id"]  # filled from the parent
    back = Schema.from_json(schema.to_json())
    assert back == schema
    assert back.to_json() == schema.to_json()
    city = back.table("city")
    assert [c.kind for c in city.columns] == [
        "numeric", "numeric", "numeric", "categorical", "temporal", "uuid",
    ]  # fmt: skip
    assert [c.name for c in city.features] == ["price", "mood", "id"]
    assert [c.name for c in city.scm_columns] == ["price", "mood"]
    assert city.columns[2].type.sql() == "NUMERIC(15,2)"
    with pytest.raises(SchemaError, match="one-column primary key"):
        _ = city.row_key
    assert back.table("region").row_key == "id"
    city.primary_key = ["id"]
    with pytest.raises(SchemaError, match="readers need an integer primary key, id is UUID"):
        _ = city.row_key


def test_version_1_ir_is_read_and_checksummed_as_before() -> None:
    """Databases written by plurel-sql < 0.3 (IR version 1) stay readable; their
    tables convert to the same columns, types and checksum encodings."""
    v1 = {
        "tables": [
            {
                "name": "t0",
                "kind": "entity",
                "num_rows": 3,
                "primary_key": "row_idx",
                "foreign_keys": [],
                "features": [
                    {"name": "f0", "kind": "numeric", "labels": None, "num_categories": None,
                     "nullable": True},
                    {"name": "f1", "kind": "categorical", "labels": ["0", "1"],
                     "num_categories": 2, "nullable": False},
                ],
                "time_column": None,
            },
            {
                "name": "t1",
                "kind": "activity",
                "num_rows": 9,
                "primary_key": "row_idx",
                "foreign_keys": [{"column": "foreign_row_0", "parent": "t0"}],
                "features": [{"name": "f0", "kind": "boolean", "labels": None,
                              "num_categories": 4, "nullable": False}],
                "time_column": "date",
            },
        ],
        "min_date": "2000-01-01", "max_date": "2001-01-01",
        "val_cutoff": "2000-10-01", "test_cutoff": "2000-11-01",
    }  # fmt: skip
    schema = Schema.from_json(json.dumps(v1))
    t1 = schema.table("t1")
    assert t1.column_names() == ["row_idx", "foreign_row_0", "f0", "date"]
    assert t1.foreign_keys[0].parent_columns == ["row_idx"]
    assert [c.type.name for c in t1.columns] == ["bigint", "bigint", "boolean", "timestamp"]
    assert column_roles(t1) == [
        ("row_idx", "key", None), ("foreign_row_0", "key", None),
        ("f0", "boolean", None), ("date", "time", None),
    ]  # fmt: skip
    assert column_roles(schema.table("t0"))[2] == ("f1", "categorical", ["0", "1"])
    assert schema.table("t0").checks[0].atoms[0].values == ["0", "1"]


def test_newer_ir_versions_are_refused_in_one_line() -> None:
    with pytest.raises(SchemaError, match="version 3 is newer") as info:
        Schema.from_json('{"ir_version": 3, "tables": []}')
    assert "\n" not in str(info.value)
