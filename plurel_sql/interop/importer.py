"""``plurel-sql import DIR --url URL``: a RelBench or Parquet folder into an engine,
with PRIMARY and FOREIGN KEYs enforced.

The folder becomes a batch source for the engines' writer
(:func:`~plurel_sql.materialize.writer.write_database`), so the import is the same
atomic write as ``generate`` (nothing left on failure), with the same DDL, keys,
checksums and ``plurel_meta``; ``plurel-sql verify`` checks it afterwards.

The Schema IR comes from

- ``plurel.json`` when plurel-sql wrote the folder: the original IR (every type,
  key, UNIQUE and CHECK), seed and configuration, so the imported tables have the
  checksums of the database that was exported; columns the RelBench layout stored
  in another type (UUID as text, NUMERIC as DOUBLE, ...) are cast back;
- otherwise RelBench's ``manifest.yaml`` and the Parquet schemas: each ``pkey`` a
  BIGINT primary key, each ``fkeys`` entry a nullable foreign key to it, each
  ``time_col`` the time column, cut-offs one second after RelBench's inclusive
  timestamps (exact for times in whole seconds). As RelBench's own ``get_db`` does,
  foreign key values that match no parent row become NULL (reported as a note).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from plurel_sql.dialects import DatabaseURL, Engine, create_engine
from plurel_sql.errors import DatabaseError, SchemaError
from plurel_sql.interop import layout as lay
from plurel_sql.materialize.meta import parse_meta
from plurel_sql.materialize.progress import Progress
from plurel_sql.materialize.writer import WriteResult, write_database
from plurel_sql.schema.arrow import arrow_schema
from plurel_sql.schema.build import _close_cycles, _dependency_order
from plurel_sql.schema.ir import Column, ForeignKey, Schema, Table
from plurel_sql.schema.sqltypes import SqlType
from plurel_sql.uuids import uuid_array, uuid_bytes

log = logging.getLogger("plurel_sql")


@dataclass
class FolderSource:
    """The tables of a folder as a batch source (``writer.BatchSource``), cast to the
    IR's Arrow types; ``nulled`` counts dangling foreign key values set to NULL."""

    root: Path
    layout: str
    planned_schema: Schema
    chunk_rows: int = 65536
    fix_dangling: bool = False
    nulled: dict[str, int] = field(default_factory=dict)

    @property
    def final_schema(self) -> Schema:
        return self.planned_schema

    def batches(self) -> Iterator[tuple[Table, pa.RecordBatch]]:
        keys: dict[str, np.ndarray] = {}  # parent table -> its key values (dangling check)
        referenced = self.planned_schema.referenced()
        for table in self.planned_schema.tables:
            path = lay.table_path(self.root, self.layout, table.name)
            if not path.is_file():
                raise DatabaseError(f"{self.root}: table {table.name}: missing {path.name}")
            expected = arrow_schema(table)
            seen: list[np.ndarray] = []
            try:
                pfile = pq.ParquetFile(path)
            except (OSError, pa.ArrowException) as exc:
                raise DatabaseError(f"{path}: not a readable Parquet file: {exc}") from None
            for raw in pfile.iter_batches(batch_size=self.chunk_rows, columns=expected.names):
                batch = conform(raw, expected, table.name)
                if self.fix_dangling:
                    batch = self._null_dangling(table, batch, keys)
                if self.fix_dangling and table.name in referenced and table.primary_key:
                    seen.append(_int_values(batch.column(table.primary_key[0])))
                yield table, batch
            if seen:
                keys[table.name] = np.concatenate(seen)
            elif self.fix_dangling and table.name in referenced:
                keys[table.name] = np.zeros(0, np.int64)

    def _null_dangling(
        self, table: Table, batch: pa.RecordBatch, keys: dict[str, np.ndarray]
    ) -> pa.RecordBatch:
        arrays = list(batch.columns)
        for fk in table.foreign_keys:
            if fk.parent not in keys:  # self reference / cycle: checked by the engine
                continue
            i = batch.schema.get_field_index(fk.column)
            col = arrays[i]
            found = np.isin(_int_values(col), keys[fk.parent]) | ~_valid(col)
            if not found.all():
                self.nulled[f"{table.name}.{fk.column}"] = self.nulled.get(
                    f"{table.name}.{fk.column}", 0
                ) + int((~found).sum())
                arrays[i] = pc.if_else(pa.array(found), col, pa.scalar(None, col.type))
        return pa.RecordBatch.from_arrays(arrays, schema=batch.schema)


def _valid(col: pa.Array) -> np.ndarray:
    return np.asarray(col.is_valid().to_numpy(zero_copy_only=False), dtype=bool)


def _int_values(col: pa.Array) -> np.ndarray:
    """int64 values of an integer key column (RelBench keys are BIGINT; NULL -> -1)."""
    values = col.cast(pa.int64()).to_numpy(zero_copy_only=False)
    return np.where(_valid(col), np.nan_to_num(values, nan=-1), -1).astype(np.int64)


def conform(batch: pa.RecordBatch, expected: pa.Schema, table: str) -> pa.RecordBatch:
    """``batch`` in the Arrow types of ``expected`` (columns by name): the exact
    types pass through, what the RelBench layout converted is cast back."""
    arrays = []
    for f in expected:
        col = batch.column(f.name)
        if isinstance(col, pa.ChunkedArray):
            col = col.combine_chunks()
        if col.type != f.type:
            col = _cast(col, f.type, f"{table}.{f.name}")
        arrays.append(col)
    return pa.RecordBatch.from_arrays(arrays, schema=expected)


def _cast(col: pa.Array, target: pa.DataType, where: str) -> pa.Array:
    try:
        if isinstance(target, pa.BaseExtensionType):  # arrow.uuid from text or bytes
            return uuid_array(uuid_bytes(col), _valid(col))
        if pa.types.is_decimal(target) and pa.types.is_floating(col.type):
            return pc.round(col, target.scale).cast(target, safe=False)
        if pa.types.is_dictionary(col.type):
            col = col.dictionary_decode()
        return col.cast(target)
    except (pa.ArrowException, ValueError) as exc:
        raise DatabaseError(f"{where}: cannot read {col.type} as {target}: {exc}") from None


# ----------------------------------------------------------------- the Schema IR


def _sql_type(t: pa.DataType) -> SqlType | None:
    """The IR type of a Parquet column (None: a type no engine table here holds)."""
    if pa.types.is_dictionary(t):
        t = t.value_type
    ints = {8: "smallint", 16: "smallint", 32: "integer", 64: "bigint"}
    if pa.types.is_signed_integer(t):
        return SqlType("tinyint" if t.bit_width == 8 else ints[t.bit_width])
    if pa.types.is_unsigned_integer(t):
        return SqlType({8: "smallint", 16: "integer", 32: "bigint"}.get(t.bit_width, "bigint"))
    if pa.types.is_float16(t) or pa.types.is_float32(t):
        return SqlType("real")
    if pa.types.is_float64(t):
        return SqlType("double")
    if pa.types.is_boolean(t):
        return SqlType("boolean")
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return SqlType("text")
    if pa.types.is_timestamp(t):
        return SqlType("timestamptz" if t.tz else "timestamp")
    if pa.types.is_date(t):
        return SqlType("date")
    if pa.types.is_time(t):
        return SqlType("time")
    if pa.types.is_decimal(t) and t.precision <= 38:
        return SqlType("numeric", precision=t.precision, scale=t.scale)
    if isinstance(t, pa.BaseExtensionType) and t.extension_name == "arrow.uuid":
        return SqlType("uuid")
    return None


def _timestamp(value: Any) -> dt.datetime:
    """A manifest's timestamp (ISO text, or a date YAML already parsed), naive UTC."""
    if isinstance(value, dt.date):
        return _as_datetime(value)
    moment = dt.datetime.fromisoformat(str(value).strip())
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment


def schema_from_manifest(root: Path, manifest: dict[str, Any]) -> Schema:
    """The Schema IR of a RelBench folder without ``plurel.json`` (module doc)."""
    specs = manifest.get("tables") or {}
    if not isinstance(specs, dict) or not specs:
        raise DatabaseError(f"{root / lay.MANIFEST}: no tables")
    tables: list[Table] = []
    times: list[dt.datetime] = []
    for name, spec in specs.items():
        spec = spec or {}
        path = lay.table_path(root, "relbench", name)
        if not path.is_file():
            raise DatabaseError(f"{root}: table {name}: missing db/{name}.parquet")
        pschema = pq.read_schema(path)
        pkey, time_col = spec.get("pkey"), spec.get("time_col")
        fkeys: dict[str, str] = dict(spec.get("fkeys") or {})
        columns, dropped = [], []
        for f in pschema:
            sql_type = _sql_type(f.type)
            if f.name in (pkey, *fkeys):
                if sql_type is None or not sql_type.is_integer:
                    raise SchemaError(f"{name}.{f.name}: a RelBench key must be an integer column")
                sql_type = SqlType("bigint")
            if sql_type is None:
                dropped.append(f"{f.name} ({f.type})")
                continue
            columns.append(Column(f.name, sql_type, nullable=f.name != pkey))
        if dropped:
            log.info(
                "%s: column(s) %s have no SQL type here: not imported", name, ", ".join(dropped)
            )
        missing = [c for c in (pkey, time_col, *fkeys) if c and c not in pschema.names]
        if missing:
            raise SchemaError(
                f"{name}: manifest names column(s) {', '.join(missing)} not in its file"
            )
        for parent in fkeys.values():
            if parent not in specs or not (specs[parent] or {}).get("pkey"):
                raise SchemaError(f"{name}: foreign key to {parent}, which has no pkey")
        fks = [ForeignKey([col], parent, [specs[parent]["pkey"]]) for col, parent in fkeys.items()]
        tables.append(
            Table(
                name=name,
                kind="activity",
                num_rows=pq.read_metadata(path).num_rows,
                columns=columns,
                primary_key=[pkey] if pkey else [],
                foreign_keys=fks,
                time_column=time_col,
            )
        )
        if time_col:
            col = pq.read_table(path, columns=[time_col]).column(time_col)
            lo, hi = pc.min(col).as_py(), pc.max(col).as_py()
            times += [_as_datetime(v) for v in (lo, hi) if v is not None]
    problems = _close_cycles(tables, {t.name: t for t in tables})
    if problems:
        raise SchemaError("; ".join(problems))
    ordered = _dependency_order(tables)
    referenced = {p for t in ordered for p in t.parents}
    for table in ordered:
        table.kind = "entity" if table.name in referenced else "activity"
    second = dt.timedelta(seconds=1)
    val = _timestamp(manifest["val_timestamp"]) + second
    test = _timestamp(manifest["test_timestamp"]) + second
    lo = min(times, default=val).date().isoformat()
    hi = max(times, default=test).date().isoformat()
    return Schema(ordered, lo, hi, val.isoformat(), test.isoformat(), origin="relbench")


def _as_datetime(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None)
    return dt.datetime.combine(value, dt.time())


# -------------------------------------------------------------------- the import


def read_folder(root: Path) -> tuple[str, Schema, int, dict[str, Any], bool]:
    """(layout, schema, seed, config, foreign) of a folder; one-line errors."""
    if not root.is_dir():
        raise DatabaseError(f"no folder at {root}")
    side = lay.read_sidecar(root)
    if side is not None:
        meta = parse_meta(side["meta"], str(root / lay.SIDECAR))
        return side["layout"], meta["schema"], meta["seed"], meta["config"], False
    manifest_path = root / lay.MANIFEST
    if not manifest_path.is_file():
        raise DatabaseError(
            f"{root} is neither a RelBench dataset (no manifest.yaml) nor a plurel-sql "
            "folder (no plurel.json)"
        )
    import yaml

    try:
        manifest = yaml.safe_load(manifest_path.read_text(encoding="utf-8"))
        schema = schema_from_manifest(root, manifest)
    except (yaml.YAMLError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise DatabaseError(f"unreadable {manifest_path}: {type(exc).__name__}: {exc}") from None
    config = {"imported": {"format": "relbench", "name": str(manifest.get("name", root.name))}}
    return "relbench", schema, 0, config, True


def import_folder(
    directory: str | os.PathLike,
    url: str | DatabaseURL | Engine,
    *,
    replace: bool = False,
    pg_schema: str | None = None,
    progress: Progress | None = None,
    chunk_rows: int = 65536,
) -> WriteResult:
    """Load the folder ``directory`` into the database at ``url`` (module doc)."""
    root = Path(directory)
    engine = create_engine(url, pg_schema=pg_schema)
    if hasattr(engine.dialect, "write"):
        raise DatabaseError(f"import needs a database URL, not the folder {engine.url.masked}")
    layout, schema, seed, config, foreign = read_folder(root)
    source = FolderSource(root, layout, schema, chunk_rows, fix_dangling=foreign)
    with engine.driver_errors():
        result = write_database(
            source, engine, seed=seed, config=config, replace=replace, progress=progress
        )
    for column, n in sorted(source.nulled.items()):
        log.info("%s: %d value(s) matching no parent row set to NULL (as RelBench does)", column, n)
    return result
