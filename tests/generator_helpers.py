"""Helpers shared by the generator tests: small configurations and checksums."""

from __future__ import annotations

import pyarrow as pa

from plurel_sql.checksum import TableChecksum
from plurel_sql.config import Config, default_config
from plurel_sql.generator.stream import DatabaseGenerator


def small_config(**database: object) -> Config:
    """A configuration small enough for unit tests (a few hundred rows per table)."""
    values = {
        "num_tables": [3, 6],
        "entity_rows": [60, 120],
        "activity_rows": [200, 400],
        "feature_columns": [3, 8],
        **database,
    }
    return default_config().override(database=values)


def table_checksums(generator: DatabaseGenerator) -> dict[str, str]:
    """Per-table content checksums of everything the generator yields."""
    sums: dict[str, TableChecksum] = {}
    for table, batch in generator.batches():
        sums.setdefault(table.name, TableChecksum(table)).update(batch)
    return {name: s.hexdigest() for name, s in sums.items()}


def generated_tables(generator: DatabaseGenerator) -> dict[str, pa.Table]:
    """Every generated table as one Arrow table."""
    batches: dict[str, list[pa.RecordBatch]] = {}
    for table, batch in generator.batches():
        batches.setdefault(table.name, []).append(batch)
    return {name: pa.Table.from_batches(b) for name, b in batches.items()}
