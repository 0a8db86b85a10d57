"""Peak memory and speed of a user's schema with a large fact table (issue 12).

A DDL schema with two small dimension tables and one fact table of ``--rows`` rows
(integers, DECIMAL, DATE, TIMESTAMP, CHECKed text, free VARCHAR, a nullable foreign
key) is generated into DuckDB in a fresh process; the child reports its peak RSS
(``ru_maxrss``), rows/s and the fact table's checksum. Memory must stay bounded by a
few columns of the fact table, not by its size.

    python benchmarks/bench_schema_stream.py --rows 10000000 --generator-only
    python benchmarks/bench_schema_stream.py --rows 10000000 --out /tmp/fact.duckdb
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

DDL = """
CREATE TABLE store (
    store_id  INTEGER PRIMARY KEY,
    city      VARCHAR(30) NOT NULL,
    opened    DATE NOT NULL
);
CREATE TABLE product (
    sku       CHAR(8) PRIMARY KEY,
    category  VARCHAR(12) NOT NULL CHECK (category IN ('food', 'toys', 'garden', 'books')),
    price     DECIMAL(8, 2) NOT NULL CHECK (price > 0)
);
CREATE TABLE sale (
    sale_id   BIGINT PRIMARY KEY,
    store_id  INTEGER NOT NULL REFERENCES store (store_id),
    sku       CHAR(8) REFERENCES product (sku),
    sold_at   TIMESTAMP NOT NULL,
    quantity  SMALLINT NOT NULL CHECK (quantity BETWEEN 1 AND 50),
    amount    DECIMAL(12, 2) NOT NULL CHECK (amount >= 0),
    channel   VARCHAR(10) NOT NULL CHECK (channel IN ('web', 'shop', 'phone')),
    note      VARCHAR(40)
);
"""

CHILD = """
import json, resource, sys, time
from plurel_sql.config import default_config
from plurel_sql.generator.stream import DatabaseGenerator
from plurel_sql.materialize.writer import write_database
from plurel_sql.schema.from_sql import schema_from_sql

rows, ddl, url = int(sys.argv[1]), sys.argv[2], sys.argv[3]
config = default_config().override(database={"entity_rows": [1000, 1000]})
schema = schema_from_sql(ddl, config, 0)
schema.table("sale").num_rows = rows  # the fact table's size is the benchmark's knob
started = time.perf_counter()
source = DatabaseGenerator(config, 0, schema=schema)
if url == "-":  # the generator alone: batches are dropped
    count = cells = 0
    for _table, batch in source.batches():
        count, cells = count + batch.num_rows, cells + batch.num_rows * batch.num_columns
    checksum = None
else:
    result = write_database(source, url, seed=0, config=config.to_dict(), replace=True)
    count, cells, checksum = result.rows, result.cells, result.checksums["sale"]
seconds = time.perf_counter() - started
print(json.dumps({
    "rows": count, "cells": cells, "seconds": round(seconds, 1),
    "rows_per_s": round(count / seconds), "cells_per_s": round(cells / seconds),
    "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    "sale_checksum": checksum,
}))
"""


def run(rows: int, out: str | None) -> dict:
    """One child process; ``out`` None: the generator alone."""
    with tempfile.TemporaryDirectory() as tmp:
        ddl = Path(tmp) / "fact.sql"
        ddl.write_text(DDL)
        url = f"duckdb:///{out}" if out else "-"
        done = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(CHILD), str(rows), str(ddl), url],
            capture_output=True,
            text=True,
            check=False,
        )
    if done.returncode != 0:
        raise SystemExit(done.stderr[-2000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--out", default=str(Path(tempfile.gettempdir()) / "plurel-fact.duckdb"))
    parser.add_argument(
        "--generator-only", action="store_true", help="drop the batches (no engine)"
    )
    args = parser.parse_args()
    print(json.dumps(run(args.rows, None if args.generator_only else args.out), indent=1))


if __name__ == "__main__":
    main()
