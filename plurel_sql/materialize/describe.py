"""Describe a generated database: a text summary, or an ER diagram (Mermaid, DOT).

Everything comes from ``plurel_meta`` (schema IR and row counts), so describing a
database does not scan its tables.
"""

from __future__ import annotations

from typing import Any

from plurel_sql.schema.ir import Schema, Table


def _columns(table: Table) -> list[tuple[str, str, str]]:
    """(name, SQL type, key marker) per column, in stored order."""
    references = {}
    for fk in table.foreign_keys:
        for column in fk.columns:
            references.setdefault(column, f"FK -> {fk.parent}")
    cols = []
    for c in table.columns:
        if c.name in table.primary_key:
            marker = "PK"
        elif c.name in references:
            marker = references[c.name]
        elif c.name == table.time_column:
            marker = "time"
        elif c.kind == "categorical" and c.type.name != "enum":
            marker = f"in {c.labels}"
        else:
            marker = ""
        sql_type = "DOUBLE" if c.type.name == "double" else c.type.sql()
        cols.append((c.name, sql_type, marker))
    return cols


def describe_text(meta: dict[str, Any], where: str) -> str:
    schema: Schema = meta["schema"]
    counts = meta["row_counts"]
    lines = [
        f"{where}: plurel-sql database (seed {meta['seed']}, package {meta['package_version']}, "
        f"created {meta['created_at']})",
        f"time window {schema.min_date} .. {schema.max_date}; "
        f"val cut-off {schema.val_cutoff}, test cut-off {schema.test_cutoff}",
        f"{len(schema.tables)} tables, {sum(counts.values())} rows",
        "",
    ]
    for table in schema.tables:
        lines.append(f"{table.name} ({table.kind}, {counts.get(table.name, '?')} rows)")
        for name, sql_type, marker in _columns(table):
            lines.append(f"  {name:<24} {sql_type:<10} {marker}".rstrip())
    return "\n".join(lines)


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in name)


def describe_mermaid(meta: dict[str, Any]) -> str:
    schema: Schema = meta["schema"]
    lines = ["erDiagram"]
    for table in schema.tables:
        lines.append(f"    {_safe(table.name)} {{")
        for name, sql_type, marker in _columns(table):
            key = "PK" if marker == "PK" else "FK" if marker.startswith("FK") else ""
            lines.append(f"        {_safe(sql_type)} {_safe(name)} {key}".rstrip())
        lines.append("    }")
    for table in schema.tables:
        for fk in table.foreign_keys:
            lines.append(
                f'    {_safe(fk.parent)} ||--o{{ {_safe(table.name)} : "{_safe(fk.column)}"'
            )
    return "\n".join(lines)


def _dot_label(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("{", "\\{").replace("}", "\\}")


def describe_dot(meta: dict[str, Any]) -> str:
    schema: Schema = meta["schema"]
    counts = meta["row_counts"]
    lines = ["digraph plurel {", "    rankdir=LR;", "    node [shape=record, fontsize=10];"]
    for table in schema.tables:
        fields = "|".join(
            _dot_label(f"{name}: {sql_type}" + (f" ({marker})" if marker in ("PK", "time") else ""))
            for name, sql_type, marker in _columns(table)
        )
        title = _dot_label(f"{table.name} ({table.kind}, {counts.get(table.name, '?')} rows)")
        lines.append(f'    "{_dot_label(table.name)}" [label="{{{title}|{fields}}}"];')
    for table in schema.tables:
        for fk in table.foreign_keys:
            lines.append(
                f'    "{_dot_label(table.name)}" -> "{_dot_label(fk.parent)}" '
                f'[label="{_dot_label(fk.column)}"];'
            )
    lines.append("}")
    return "\n".join(lines)


def describe(meta: dict[str, Any], fmt: str, where: str) -> str:
    if fmt == "mermaid":
        return describe_mermaid(meta)
    if fmt == "dot":
        return describe_dot(meta)
    return describe_text(meta, where)
