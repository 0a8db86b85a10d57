"""Write generated databases into real SQL engines and read their metadata back.

- :func:`write_database` (``.writer``): a batch source -> one atomic, key-enforced
  database.
- :func:`read_meta` (``.meta``): the parsed ``plurel_meta`` of a URL (all a reader
  needs).
- :func:`verify_database` (``.verify``): re-check keys, orphans, row counts and
  checksums with SQL.

The names load on first use, so a reader importing ``materialize.meta`` does not
load the writer.
"""

from __future__ import annotations

import importlib
from typing import Any

_NAMES = {
    "read_meta": "plurel_sql.materialize.meta",
    "verify_database": "plurel_sql.materialize.verify",
    "VerifyReport": "plurel_sql.materialize.verify",
    "write_database": "plurel_sql.materialize.writer",
    "WriteResult": "plurel_sql.materialize.writer",
}
__all__ = ["VerifyReport", "WriteResult", "read_meta", "verify_database", "write_database"]


def __getattr__(name: str) -> Any:
    if name not in _NAMES:
        raise AttributeError(f"module 'plurel_sql.materialize' has no attribute {name!r}")
    return getattr(importlib.import_module(_NAMES[name]), name)
