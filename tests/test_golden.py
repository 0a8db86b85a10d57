"""Generated values are fixed for a package version: a few databases must match the
committed golden digest (fixtures/golden/checksums.json) table for table."""

from __future__ import annotations

import pytest
from regenerate_golden import CASES, checksums, load

import plurel_sql
from plurel_sql.values.vocab import faker_version

HOW = (
    "if the change of generated values is intended, bump the package version "
    "(pyproject.toml and plurel_sql/__init__.py) and run `python tests/regenerate_golden.py`"
)


def test_generated_values_match_the_golden_digest() -> None:
    golden = load()
    assert golden["package_version"] == plurel_sql.__version__, (
        f"the golden digest is for version {golden['package_version']}, the package is "
        f"{plurel_sql.__version__}: run `python tests/regenerate_golden.py`"
    )
    assert set(golden["databases"]) == set(CASES)
    other_faker = golden["faker_version"] != faker_version()
    for name, case in CASES.items():
        if other_faker and case[1] is not None:
            continue  # users' schemas' text comes from Faker's data: checked below
        got, want = checksums(*case), golden["databases"][name]
        changed = sorted(t for t in set(got) | set(want) if got.get(t) != want.get(t))
        assert not changed, (
            f"{name}: tables {', '.join(changed)} differ from the golden digest of version "
            f"{plurel_sql.__version__}; {HOW}"
        )
    if other_faker:
        pytest.skip(
            f"users' schemas not compared: the golden digest was made with Faker "
            f"{golden['faker_version']}, this is Faker {faker_version()}"
        )
