"""Unit tests of the materialization layer that need no database server."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pytest
from standins.fabricate import FabricatedSource, example_schema

from plurel_sql.checksum import TableChecksum
from plurel_sql.dialects import create_engine, mask_url, parse_url
from plurel_sql.dialects.pgcopy import HEADER, TRAILER, encode_batch
from plurel_sql.errors import DatabaseError, SchemaError
from plurel_sql.materialize.ddl import build_metadata, build_table, constraint_name
from plurel_sql.materialize.describe import describe
from plurel_sql.materialize.writer import normalize_batch
from plurel_sql.schema.arrow import arrow_schema


def test_url_schemes_and_schema():
    assert parse_url("duckdb:///x.duckdb").engine == "duckdb"
    assert parse_url("sqlite:////tmp/x.sqlite").path == "/tmp/x.sqlite"
    pg = parse_url("postgresql://u:pw@h:5433/db?schema=s1")
    assert (pg.engine, pg.schema, pg.sa_url.drivername) == (
        "postgresql",
        "s1",
        "postgresql+psycopg",
    )
    assert parse_url("postgresql+psycopg://u@h/db").schema == "public"
    assert parse_url("postgresql://u@h/db?schema=a", pg_schema="b").schema == "b"


@pytest.mark.parametrize("url", ["mysql://u:pw@h/db", "oracle://x", "nonsense"])
def test_unknown_scheme_lists_supported(url):
    with pytest.raises(DatabaseError) as err:
        parse_url(url)
    message = str(err.value)
    assert "duckdb:///" in message and "postgresql://" in message and "sqlite:///" in message
    assert "pw" not in message


@pytest.mark.parametrize("url", ["duckdb://", "duckdb:///:memory:", "sqlite://", "postgresql://h"])
def test_url_needs_a_target(url):
    with pytest.raises(DatabaseError, match="needs"):
        parse_url(url)


def test_mask_url_hides_passwords():
    assert mask_url("postgresql://bob:s3cret@h:1/db") == "postgresql://bob:***@h:1/db"
    assert "s3cret" not in mask_url("postgresql://bob@h/db?password=s3cret&schema=x")
    assert mask_url("duckdb:///a.duckdb") == "duckdb:///a.duckdb"
    d = create_engine("postgresql://bob:s3cret@h/db").dialect
    assert "s3cret" not in d.url.scrub("failed for s3cret at postgresql://bob:s3cret@h/db")


def test_constraint_names_are_deterministic_and_short():
    assert constraint_name("fk", "orders", "customer_id") == "fk_orders_customer_id"
    long = constraint_name("fk", "t" * 50, "c" * 50)
    assert len(long) <= 63 and long == constraint_name("fk", "t" * 50, "c" * 50)


def test_ddl_has_keys_checks_and_types():
    schema = example_schema(num_tables=3)
    md = build_metadata(schema)
    child = md.tables["table_1"]
    assert child.primary_key.name == "pk_table_1"
    assert {fk.name for fk in child.foreign_key_constraints} == {"fk_table_1_fk_table_0"}
    checks = [c.name for c in child.constraints if c.name and c.name.startswith("ck_")]
    assert checks, "categorical columns get a CHECK constraint"
    assert not child.c["fk_table_0"].nullable


def test_foreign_keys_reference_the_parents_own_key_name():
    """A child's FOREIGN KEY names the parent's key column whatever it is called, and
    even when the parent was created without its PRIMARY KEY (keys added later)."""
    import dataclasses

    import sqlalchemy as sa

    schema = example_schema(num_tables=3)
    renamed = []
    for t in schema.tables:
        columns = [
            dataclasses.replace(c, name="select") if c.name == "row_idx" else c for c in t.columns
        ]
        fks = [dataclasses.replace(fk, parent_columns=["select"]) for fk in t.foreign_keys]
        renamed.append(
            dataclasses.replace(t, columns=columns, primary_key=["select"], foreign_keys=fks)
        )
    schema = dataclasses.replace(schema, tables=renamed)
    metadata = sa.MetaData()
    for table in schema.tables:
        sa_table = build_table(table, metadata, None, keys=False, foreign_keys=True)
    referenced = {fk.target_fullname for fk in sa_table.foreign_keys}
    assert referenced and all(name.endswith(".select") for name in referenced), referenced
    str(sa.schema.CreateTable(sa_table).compile())  # resolves every referenced column


def _batches(schema, seed, chunk):
    return list(FabricatedSource(schema, seed, chunk).batches())


def test_checksum_independent_of_batch_size():
    schema = example_schema()
    table = schema.tables[-1]
    whole = pa.Table.from_batches([b for t, b in _batches(schema, 3, 10_000) if t is table])
    digests = []
    for chunk in (7, 64, 10_000):
        digest = TableChecksum(table)
        for batch in whole.to_batches(max_chunksize=chunk):
            digest.update(batch)
        digests.append(digest.hexdigest())
    assert len(set(digests)) == 1


def test_checksum_sees_every_change():
    schema = example_schema()
    table = schema.tables[0]
    (_, batch), *_ = _batches(schema, 3, 10_000)
    base = TableChecksum(table)
    base.update(batch)
    field = batch.schema.field(1)
    changed = batch.set_column(1, field, pa.array([None] * batch.num_rows, field.type))
    other = TableChecksum(table)
    other.update(normalize_batch(changed, arrow_schema(table), table.name))
    assert base.hexdigest() != other.hexdigest()


def test_nan_and_negative_zero_are_canonical():
    schema = example_schema(num_tables=1, features=1)
    table = schema.tables[0]
    expected = arrow_schema(table)
    n = 4

    def digest(values):
        batch = pa.RecordBatch.from_arrays(
            [pa.array(np.arange(n)), pa.array(values, pa.float64())], schema=expected
        )
        d = TableChecksum(table)
        d.update(normalize_batch(batch, expected, table.name))
        return d.hexdigest()

    assert digest([1.0, math.nan, -0.0, 2.0]) == digest([1.0, None, 0.0, 2.0])


def test_normalize_rejects_wrong_columns():
    schema = example_schema(num_tables=1)
    batch = pa.RecordBatch.from_arrays([pa.array([1])], names=["nope"])
    with pytest.raises(SchemaError):
        normalize_batch(batch, arrow_schema(schema.tables[0]), "table_0")


def test_binary_copy_layout():
    schema = example_schema(num_tables=3, features=3)
    table, batch = next((t, b) for t, b in _batches(schema, 1, 5) if t.time_column)
    data = encode_batch(batch)
    assert data.startswith(HEADER) and data.endswith(TRAILER)
    first = data[len(HEADER) :]
    assert int.from_bytes(first[:2], "big") == batch.num_columns
    assert int.from_bytes(first[2:6], "big") == 8  # row_idx length
    assert int.from_bytes(first[6:14], "big", signed=True) == batch.column(0)[0].as_py()


def test_describe_formats():
    schema = example_schema(num_tables=3)
    meta = {
        "schema": schema,
        "row_counts": {t.name: t.num_rows for t in schema.tables},
        "seed": 1,
        "package_version": "0",
        "created_at": "now",
    }
    text = describe(meta, "text", "duckdb:///x")
    assert "table_1 (activity" in text and "PK" in text
    mermaid = describe(meta, "mermaid", "")
    assert mermaid.startswith("erDiagram") and "table_0 ||--o{ table_1" in mermaid
    dot = describe(meta, "dot", "")
    assert dot.startswith("digraph") and '"table_1" -> "table_0"' in dot
