"""A Schema IR from a DDL file (``--schema-sql FILE [--schema-dialect NAME]``).

The file is parsed by sqlglot (:mod:`plurel_sql.schema.sql_parse`), never executed,
and completed by :func:`plurel_sql.schema.build.finish_schema`: every unsupported
construct is reported at once, one line each naming table and column.
"""

from __future__ import annotations

import logging
from pathlib import Path

from plurel_sql.config import Config
from plurel_sql.errors import SchemaError
from plurel_sql.schema.build import finish_schema
from plurel_sql.schema.ir import Schema
from plurel_sql.schema.sql_parse import parse_ddl

log = logging.getLogger("plurel_sql.schema")


def schema_from_sql(
    path: str | Path, config: Config, seed: int, dialect: str | None = None
) -> Schema:
    """The Schema IR of the DDL in ``path`` (dialect: postgresql, duckdb, sqlite or
    mysql; default: guessed, see :func:`~plurel_sql.schema.sql_parse.resolve_dialect`);
    row counts and the time window are drawn from ``config`` under ``seed``. Notes
    about ignored statements go to the ``plurel_sql.schema`` logger."""
    path = Path(path)
    try:
        sql = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SchemaError(f"cannot read schema file {path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise SchemaError(f"cannot read schema file {path}: not UTF-8 ({exc.reason})") from None
    declared = parse_ddl(sql, dialect, str(path))
    for note in declared.notes:
        log.info(note)
    return finish_schema(declared.tables, config, seed, "sql", declared.problems)
