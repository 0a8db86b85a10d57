"""The golden digest: per-table checksums of a few generated databases, committed in
fixtures/golden/checksums.json with the package version that made them.

    python tests/regenerate_golden.py            # after bumping the version
    python tests/regenerate_golden.py --force    # same version (e.g. a new case)

tests/test_golden.py regenerates the same databases in-process and fails on any
difference, so a change of generated values cannot pass unnoticed: values are fixed
for a package version. This script refuses to rewrite the file while the package
version is the one recorded in it, unless told ``--force``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import plurel_sql
from plurel_sql.checksum import TableChecksum
from plurel_sql.config import default_config
from plurel_sql.generator.stream import DatabaseGenerator
from plurel_sql.schema.from_sql import schema_from_sql
from plurel_sql.values.vocab import faker_version

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "fixtures" / "golden" / "checksums.json"
# name -> (seed, SQL schema file relative to the repository or None for a random schema)
CASES: dict[str, tuple[int, str | None]] = {
    "default-seed-0": (0, None),
    "default-seed-1": (1, None),
    "default-seed-2": (2, None),
    "shop-seed-0": (0, "fixtures/shop.sql"),
    "tpch-seed-0": (0, "fixtures/schemas/tpch.sql"),
}


def checksums(seed: int, schema_sql: str | None) -> dict[str, str]:
    """Per-table checksums of one database under the default configuration."""
    config = default_config()
    schema = schema_from_sql(ROOT / schema_sql, config, seed) if schema_sql else None
    sums: dict[str, TableChecksum] = {}
    for table, batch in DatabaseGenerator(config, seed, schema=schema).batches():
        sums.setdefault(table.name, TableChecksum(table)).update(batch)
    return {name: s.hexdigest() for name, s in sums.items()}


def compute() -> dict:
    """The golden file's content for this checkout."""
    return {
        "package_version": plurel_sql.__version__,
        # users' schemas take text from Faker's data, which changes between releases
        "faker_version": faker_version(),
        "databases": {name: checksums(*case) for name, case in CASES.items()},
    }


def load() -> dict:
    return json.loads(GOLDEN.read_text(encoding="utf-8"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="rewrite at the same version")
    args = parser.parse_args()
    recorded = load()["package_version"] if GOLDEN.exists() else None
    if recorded == plurel_sql.__version__ and not args.force:
        print(
            f"error: {GOLDEN.relative_to(ROOT)} is already for version {recorded}; generated "
            "values are fixed per version: bump the version (pyproject.toml and "
            "plurel_sql/__init__.py) first, or pass --force",
            file=sys.stderr,
        )
        return 2
    GOLDEN.parent.mkdir(parents=True, exist_ok=True)
    GOLDEN.write_text(json.dumps(compute(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {GOLDEN.relative_to(ROOT)} for version {plurel_sql.__version__}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
