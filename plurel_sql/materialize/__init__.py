"""Write generated databases into real SQL engines and read their metadata back.

- :func:`write_database`: a batch source -> one atomic, key-enforced database.
- :func:`read_meta`: the parsed ``plurel_meta`` of a URL (all a reader needs).
- :func:`verify_database`: re-check keys, orphans, row counts and checksums with SQL.
"""

from plurel_sql.materialize.meta import read_meta
from plurel_sql.materialize.verify import VerifyReport, verify_database
from plurel_sql.materialize.writer import WriteResult, write_database

__all__ = ["VerifyReport", "WriteResult", "read_meta", "verify_database", "write_database"]
