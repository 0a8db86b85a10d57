"""The two folder layouts and how the Schema IR maps onto RelBench v3's manifest.

``parquet`` (plain)::

    DIR/<table>.parquet     one zstd Parquet file per table, the exact Arrow types
    DIR/plurel.json         keys per table + the plurel_meta rows (schema IR, seed, ...)

``relbench`` (RelBench v3, what ``relbench.load_dataset(DIR).get_db()`` reads)::

    DIR/manifest.yaml                  name, val/test timestamps, per table pkey/fkeys/time_col
    DIR/db/<table>.parquet             zstd Parquet, types RelBench's pandas reader can use
    DIR/tasks/<table>.<column>/manifest.yaml   one autocomplete task per masked-cell task
    DIR/plurel.json                    as above: what ``plurel-sql import`` restores from

RelBench has one integer primary key per table whose values are the row positions
``0..n-1`` in file order, foreign keys holding those positions, and one time column
compared with pandas' ``DataFrame.query``. What does not fit is kept as plain columns
and left out of the manifest (:func:`relbench_tables`; docs/relbench.md).
"""

from __future__ import annotations

import datetime as dt
import json
import keyword
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from plurel_sql.errors import DatabaseError, SchemaError
from plurel_sql.schema.ir import Column, Schema, Table
from plurel_sql.uuids import uuid_bytes, uuid_strings

LAYOUTS = ("relbench", "parquet")
SIDECAR = "plurel.json"
SIDECAR_FORMAT = "plurel-sql-folder"
SIDECAR_VERSION = 1
MANIFEST = "manifest.yaml"
COMPRESSION = "zstd"


def table_path(root: Path, layout: str, name: str) -> Path:
    """Where table ``name``'s Parquet file lives in a folder of ``layout``."""
    return (root / "db" if layout == "relbench" else root) / f"{name}.parquet"


def check_table_names(schema: Schema) -> None:
    """Table names must be usable as file names (one line naming the bad ones)."""
    bad = [
        t.name
        for t in schema.tables
        if not t.name or t.name in (".", "..") or any(ch in t.name for ch in "/\\\0")
    ]
    if bad:
        raise SchemaError(f"table name(s) {', '.join(map(repr, bad))} cannot be Parquet file names")


def relbench_timestamp(cutoff: str) -> str:
    """RelBench's inclusive timestamp for one of our exclusive cut-offs.

    Our split puts a row at exactly the cut-off in the later split (``time <
    val_cutoff`` is train); RelBench puts rows up to its timestamp, inclusive, in the
    earlier one. One microsecond before our cut-off (timestamps are stored in
    microseconds) gives the same rows on both sides.
    """
    moment = dt.datetime.fromisoformat(cutoff) - dt.timedelta(microseconds=1)
    return moment.isoformat(timespec="microseconds")


def is_query_name(name: str) -> bool:
    """Whether pandas' ``DataFrame.query`` and RelBench's unquoted SQL can name the
    column (RelBench's ``Table.upto`` filters ``f"{time_col} <= @timestamp"``)."""
    return name.isidentifier() and not keyword.iskeyword(name)


@dataclass
class RelBenchTable:
    """One table as RelBench's manifest describes it (None: not expressible)."""

    pkey: str | None
    time_col: str | None
    fkeys: dict[str, str] = field(default_factory=dict)
    #: why a key, link or time column of the IR is not in the manifest, one line each
    notes: list[str] = field(default_factory=list)


def row_key(table: Table) -> str | None:
    """The one-column integer primary key RelBench could use, if the table has one."""
    if len(table.primary_key) != 1:
        return None
    column = table.column(table.primary_key[0])
    return column.name if column.type.is_integer else None


def relbench_tables(
    schema: Schema, positional: dict[str, bool], time_sorted: dict[str, bool]
) -> dict[str, RelBenchTable]:
    """The manifest's view of every table. ``positional[t]`` says whether table
    ``t``'s row key holds exactly ``0..n-1`` in file order, ``time_sorted[t]``
    whether its time column never decreases in file order, NULLs last (both checked
    while writing). RelBench needs the second for a table with a row key: its
    ``get_db`` cuts rows after the test timestamp and then requires the keys that
    remain to still be ``0..n-1``."""
    pkeys: dict[str, str | None] = {}
    out: dict[str, RelBenchTable] = {}
    for table in schema.tables:
        notes: list[str] = []
        key = row_key(table)
        if key is None and table.primary_key:
            notes.append(
                f"primary key ({', '.join(table.primary_key)}) is not one integer column: "
                "kept as plain columns, pkey: null"
            )
        elif key is not None and not positional.get(table.name, False):
            notes.append(f"primary key {key} is not 0..n-1 in row order: pkey: null")
            key = None
        pkeys[table.name] = key
        time_col = table.time_column
        if time_col is not None and not is_query_name(time_col):
            notes.append(f"time column {time_col!r} is not a Python identifier: time_col: null")
            time_col = None
        elif time_col is not None and key is not None and not time_sorted.get(table.name):
            notes.append(
                f"time column {time_col} is not sorted in key order (RelBench cuts by time and "
                "keeps keys 0..n-1 only for a sorted table): time_col: null"
            )
            time_col = None
        out[table.name] = RelBenchTable(key, time_col, {}, notes)
    for table in schema.tables:
        entry = out[table.name]
        for fk in table.foreign_keys:
            parent_key = pkeys.get(fk.parent)
            if len(fk.columns) != 1 or parent_key is None or fk.parent_columns != [parent_key]:
                entry.notes.append(
                    f"foreign key ({', '.join(fk.columns)}) -> {fk.parent} does not reference "
                    "a RelBench row key: kept as plain columns"
                )
            elif fk.column in entry.fkeys:
                entry.notes.append(f"{fk.column} is a second foreign key column: left out")
            else:
                entry.fkeys[fk.column] = fk.parent
    return out


def relbench_array(column: Column, array: pa.Array, is_time: bool) -> pa.Array:
    """A column as written into the RelBench layout: types pandas reads as numbers,
    strings or datetimes. UUIDs become their canonical text, NUMERIC becomes DOUBLE
    (RelBench models use floats; precision beyond ~15 digits is lost) and a time
    column becomes a naive TIMESTAMP (UTC), which ``Table.upto`` can compare."""
    t = array.type
    if isinstance(t, pa.BaseExtensionType) and column.type.name == "uuid":
        valid = array.is_valid()
        text = pa.array(uuid_strings(uuid_bytes(array)), pa.string())
        return pc.if_else(valid, text, pa.scalar(None, pa.string()))
    if pa.types.is_decimal(t):
        return array.cast(pa.float64())
    if is_time and pa.types.is_date(t):
        return array.cast(pa.timestamp("us"))
    if is_time and pa.types.is_timestamp(t) and t.tz is not None:
        return array.cast(pa.timestamp(t.unit))
    return array


def relbench_schema(table: Table, expected: pa.Schema, time_col: str | None) -> pa.Schema:
    """The Arrow schema of ``table``'s RelBench file (see :func:`relbench_array`)."""
    fields = []
    for column, f in zip(table.columns, expected, strict=True):
        empty = relbench_array(column, pa.array([], f.type), f.name == time_col)
        fields.append(pa.field(f.name, empty.type, nullable=f.nullable))
    return pa.schema(fields)


def dataset_manifest(
    name: str, schema: Schema, tables: dict[str, RelBenchTable], description: str
) -> dict[str, Any]:
    """RelBench's ``DatasetManifest`` as a plain dict (key order as RelBench writes it)."""
    return {
        "name": name,
        "manifest_version": 1,
        "description": description,
        "val_timestamp": relbench_timestamp(schema.val_cutoff),
        "test_timestamp": relbench_timestamp(schema.test_cutoff),
        "tables": {
            t.name: {
                "pkey": tables[t.name].pkey,
                "time_col": tables[t.name].time_col,
                "fkeys": dict(tables[t.name].fkeys),
            }
            for t in schema.tables
        },
    }


def dump_yaml(data: dict[str, Any], path: Path) -> None:
    """Write ``data`` as block-style YAML in insertion order (as RelBench's own)."""
    import yaml

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        yaml.safe_dump(data, f, sort_keys=False, default_flow_style=False, allow_unicode=True)


def sidecar(
    layout: str, schema: Schema, meta_rows: dict[str, str], tables: dict[str, Any]
) -> dict[str, Any]:
    """The content of ``plurel.json``: the layout, each table's file, rows and keys
    (readable), and the ``plurel_meta`` rows that make the folder lossless to import."""
    per_table = {}
    for t in schema.tables:
        per_table[t.name] = {
            "file": str(table_path(Path("."), layout, t.name)),
            "rows": tables[t.name]["rows"],
            "primary_key": t.primary_key,
            "foreign_keys": [
                {"columns": fk.columns, "parent": fk.parent, "parent_columns": fk.parent_columns}
                for fk in t.foreign_keys
            ],
            "time_column": t.time_column,
            **({"relbench": tables[t.name]["relbench"]} if "relbench" in tables[t.name] else {}),
        }
    return {
        "format": SIDECAR_FORMAT,
        "format_version": SIDECAR_VERSION,
        "layout": layout,
        "tables": per_table,
        "meta": meta_rows,
    }


def read_sidecar(root: Path) -> dict[str, Any] | None:
    """``plurel.json`` of a folder (None if absent); a one-line error if unreadable."""
    path = root / SIDECAR
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DatabaseError(f"unreadable {path}: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != SIDECAR_FORMAT:
        raise DatabaseError(f"{path} is not a plurel-sql folder description")
    if data.get("format_version", 0) > SIDECAR_VERSION or data.get("layout") not in LAYOUTS:
        raise DatabaseError(f"{path}: unsupported folder format; upgrade plurel-sql")
    return data
