"""DuckDB files are written with small blocks (issue 14 item 5: file size)."""

from __future__ import annotations

import duckdb

import plurel_sql
from dialects.duckdb import BLOCK_SIZE


def test_new_duckdb_file_uses_small_blocks_and_opens_read_only(tmp_path):
    path = tmp_path / "db.duckdb"
    plurel_sql.generate(f"duckdb:///{path}", seed=1)
    con = duckdb.connect(str(path), read_only=True)
    try:
        block_size = con.execute("SELECT block_size FROM pragma_database_size()").fetchone()[0]
    finally:
        con.close()
    assert block_size == BLOCK_SIZE == 16384
    report = plurel_sql.verify(f"duckdb:///{path}")
    assert report.ok
