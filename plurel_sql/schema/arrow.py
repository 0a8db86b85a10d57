"""The Arrow form of a table of the IR: the contract between generator, writer and
readers (types per column kind; features nullable, as their SQL columns are)."""

from __future__ import annotations

import pyarrow as pa

from plurel_sql.schema.ir import Table


def arrow_type(kind: str) -> pa.DataType:
    """Arrow type of a column role: key, numeric, boolean, categorical or time."""
    return {
        "key": pa.int64(),
        "numeric": pa.float64(),
        "boolean": pa.bool_(),
        "categorical": pa.string(),
        "time": pa.timestamp("us"),
    }[kind]


def arrow_schema(table: Table) -> pa.Schema:
    """The Arrow schema of the table's batches, in stored column order."""
    key = arrow_type("key")
    fields = [pa.field(table.primary_key, key, nullable=False)]
    fields += [pa.field(fk.column, key, nullable=False) for fk in table.foreign_keys]
    fields += [pa.field(c.name, arrow_type(c.kind)) for c in table.features]
    if table.time_column:
        fields.append(pa.field(table.time_column, arrow_type("time"), nullable=False))
    return pa.schema(fields)
