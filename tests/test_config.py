"""Configuration: defaults round-trip, overrides, and one-line errors for bad input."""

from __future__ import annotations

import subprocess
import sys
import tomllib

import pytest

from plurel_sql.config import Config, default_config, load_config
from plurel_sql.errors import ConfigError

BAD_INPUTS = [
    ({"database": {"no_such_key": 1}}, "unknown configuration key 'database.no_such_key'"),
    ({"nonsense": {}}, "unknown configuration group 'nonsense'"),
    ({"database": {"num_tables": [5, 3]}}, "database.num_tables: min 5 > max 3"),
    ({"database": {"entity_rows": [-5, 10]}}, "database.entity_rows"),
    ({"database": {"activity_rows": [0, 10]}}, "database.activity_rows"),
    ({"scm": {"embedding_dim": 0}}, "scm.embedding_dim"),
    ({"database": {"table_layouts": ["Nope"]}}, "unknown option 'Nope'"),
    ({"scm": {"layouts": ["Hexagonal"]}}, "scm.layouts: unknown option 'Hexagonal'"),
    ({"scm": {"activations": ["swish2"]}}, "scm.activations: unknown option 'swish2'"),
    ({"scm": {"initializers": ["zeros"]}}, "scm.initializers: unknown option 'zeros'"),
    ({"scm": {"sources": ["poisson"]}}, "scm.sources: unknown option 'poisson'"),
    ({"scm": {"aggregations": ["mean"]}}, "scm.aggregations: unknown option 'mean'"),
    ({"database": {"column_transforms": ["exp"]}}, "unknown option 'exp'"),
    ({"graph": {"barabasi_albert_drop_prob": 1.5}}, "probability must be in [0, 1]"),
    ({"graph": {"erdos_renyi_p": [0.2, 1.3]}}, "graph.erdos_renyi_p: must be <= 1.0"),
    ({"database": {"null_fraction": [-0.1, 0.1]}}, "database.null_fraction"),
    (
        {"database": {"min_date": "2020-01-01", "max_date": "2019-01-01"}},
        "must be before database.max_date",
    ),
    (
        {"database": {"min_date": "2020-01-01", "max_date": "2020-01-01"}},
        "must be before database.max_date",
    ),
    ({"database": {"min_date": "yesterday"}}, "database.min_date: expected a date"),
    (
        {"scm": {"preactivation_clamp": 5.0}},
        "unknown configuration key 'scm.preactivation_clamp' (renamed to 'scm.activation_clamp')",
    ),
    ({"database": {"num_tables": 7}}, "database.num_tables: expected [min, max]"),
    ({"scm": {"mlp_layers": [2.5, 3]}}, "scm.mlp_layers: expected [min, max] of integers"),
]


@pytest.mark.parametrize(("data", "message"), BAD_INPUTS)
def test_bad_config_is_one_line_error(data: dict, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        Config.from_dict(data)
    text = str(info.value)
    assert message in text
    assert "\n" not in text


def _toml(data: dict) -> str:
    lines = []
    for group, values in data.items():
        lines.append(f"[{group}]")
        for key, value in values.items():
            lines.append(f"{key} = {_value(value)}")
    return "\n".join(lines) + "\n"


def _value(value: object) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    return str(value).lower() if isinstance(value, bool) else str(value)


# The CLI path is the same for every key; a representative subset keeps the suite fast.
CLI_CASES = [BAD_INPUTS[i] for i in (0, 2, 3, 7, 13, 16)]


@pytest.mark.parametrize(("data", "message"), CLI_CASES)
def test_bad_config_file_from_cli(tmp_path, data: dict, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(_toml(data))
    result = subprocess.run(
        [sys.executable, "-m", "plurel_sql", "config", "--check", str(path)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1
    assert message in result.stderr


def test_cli_rejects_unparsable_and_missing_files(tmp_path) -> None:
    bad = tmp_path / "broken.toml"
    bad.write_text("[database\nnum_tables = ")
    for path, message in [(bad, "invalid TOML"), (tmp_path / "missing.toml", "not found")]:
        result = subprocess.run(
            [sys.executable, "-m", "plurel_sql", "config", "--check", str(path)],
            capture_output=True,
            text=True,
        )
        assert result.returncode == 2
        assert message in result.stderr
        assert result.stderr.count("\n") == 1


def test_defaults_print_as_toml_that_loads_back_unchanged(tmp_path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "plurel_sql", "config", "--defaults"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert Config.from_dict(tomllib.loads(result.stdout)) == default_config()
    path = tmp_path / "defaults.toml"
    path.write_text(result.stdout)
    assert load_config(path) == default_config()


def test_defaults_match_the_method() -> None:
    cfg = default_config()
    assert cfg.database.num_tables == [3, 20]
    assert cfg.database.entity_rows == [500, 1000]
    assert cfg.database.activity_rows == [2000, 5000]
    assert cfg.database.feature_columns == [3, 40]
    assert cfg.connectivity.levels == [1, 5]
    assert cfg.scm.mlp_layers == [2, 4]
    assert cfg.scm.embedding_dim == 32
    assert len(cfg.scm.activations) == 29
    assert len(cfg.scm.initializers) == 6
    assert len(cfg.scm.layouts) == 7


def test_override_from_python_keeps_other_defaults() -> None:
    cfg = default_config().override(database={"num_tables": [4, 4]}, scm={"mlp_layers": [3, 3]})
    assert cfg.database.num_tables == [4, 4]
    assert cfg.scm.mlp_layers == [3, 3]
    assert cfg.database.entity_rows == [500, 1000]
    with pytest.raises(ConfigError, match="unknown configuration key 'scm.depth'"):
        default_config().override(scm={"depth": 3})


def test_every_key_is_documented() -> None:
    import dataclasses
    from pathlib import Path

    from plurel_sql.config import PARAM_GROUPS

    text = (Path(__file__).parent.parent / "docs" / "configuration.md").read_text()
    cfg = default_config()
    for group in PARAM_GROUPS:
        assert f"`[{group}]`" in text
        for f in dataclasses.fields(getattr(cfg, group)):
            assert f"`{f.name}`" in text, f"docs/configuration.md lacks {group}.{f.name}"
    assert "`[rows]`" in text and "`[columns.TABLE.COLUMN]`" in text


def test_output_pipe_closed_early_ends_quietly() -> None:
    """`plurel-sql ... | head -1` must not print a BrokenPipeError traceback: the
    reader here closes the pipe before the command writes anything."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "plurel_sql", "config", "--defaults"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    proc.stdout.close()
    _, err = proc.communicate(timeout=60)
    assert b"Traceback" not in err and b"BrokenPipe" not in err
