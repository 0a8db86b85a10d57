"""Stage 1: sampled schemas, the IR round trip, and the column-count power law."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from scipy import stats

from plurel_sql.config import default_config
from plurel_sql.errors import SchemaError
from plurel_sql.sampling import power_law_pmf
from plurel_sql.schema.ir import Schema
from plurel_sql.schema.sample import sample_schema


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
