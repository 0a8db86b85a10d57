"""The Arrow form of a table of the IR: the contract between generator, writer and
readers. One Arrow type per declared SQL type (docs/schemas.md, "Types"); fields
are nullable exactly when their column is."""

from __future__ import annotations

import pyarrow as pa

from plurel_sql.schema.ir import Table
from plurel_sql.schema.sqltypes import SqlType

#: Unconstrained NUMERIC is stored as DECIMAL(18, 3), DuckDB's reading of NUMERIC.
DEFAULT_DECIMAL = (18, 3)

_INTEGERS = {
    ("tinyint", False): pa.int8(),
    ("smallint", False): pa.int16(),
    ("integer", False): pa.int32(),
    ("bigint", False): pa.int64(),
    ("tinyint", True): pa.uint8(),
    ("smallint", True): pa.uint16(),
    ("integer", True): pa.uint32(),
    ("bigint", True): pa.uint64(),
}
_FIXED = {
    "real": pa.float32(),
    "double": pa.float64(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
    "time": pa.time64("us"),
    "timestamp": pa.timestamp("us"),
    "timestamptz": pa.timestamp("us", tz="UTC"),
    "uuid": pa.uuid(),
}


def decimal_params(sql_type: SqlType) -> tuple[int, int]:
    """(precision, scale) a NUMERIC column's values are generated and stored with."""
    if sql_type.precision is None:
        return DEFAULT_DECIMAL
    return sql_type.precision, sql_type.scale or 0


def arrow_type(sql_type: SqlType) -> pa.DataType:
    """The Arrow type of a column of ``sql_type``."""
    name = sql_type.name
    if sql_type.is_integer:
        return _INTEGERS[(name, sql_type.unsigned)]
    if name == "numeric":
        return pa.decimal128(*decimal_params(sql_type))
    if sql_type.is_text or name == "enum":
        return pa.string()
    return _FIXED[name]


def arrow_schema(table: Table) -> pa.Schema:
    """The Arrow schema of the table's batches, in stored column order."""
    return pa.schema(
        [pa.field(c.name, arrow_type(c.type), nullable=c.nullable) for c in table.columns]
    )
