"""Configuration: every parameter range of the PluRel method, with validation.

A configuration has four groups (TOML tables): ``database`` (stage 1 and
post-processing), ``connectivity`` (stage 2, the hierarchical block model), ``scm``
(stage 3) and ``graph`` (the graph generators shared by stages 1 and 3).

Three kinds of parameter appear:
- a *range* ``[min, max]``: a value is drawn uniformly from it (integers inclusive);
- a *set* ``[a, b, ...]``: a value is drawn uniformly from the listed options;
- a scalar.

Validation errors are :class:`~plurel_sql.errors.ConfigError` with a one-line
message that names the offending key (``scm.mlp_layers: min 5 > max 3``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from plurel_sql.errors import ConfigError
from plurel_sql.values.overrides import (
    MAX_ROWS,
    ColumnOverride,
    is_int,
    is_number,
    parse_columns,
    parse_rows,
)

#: Upper bounds checked by validation (docs/hardening.md): beyond them a run would
#: take hours or more memory than a machine has, so a typo fails at once instead.
MAX_TABLES = 10_000
MAX_COLUMNS = 1_500  # under PostgreSQL's 1600 columns a table
MAX_CATEGORIES = 1_000_000

GRAPH_LAYOUTS = (
    "ErdosRenyi",
    "BarabasiAlbert",
    "RandomTree",
    "ReverseRandomTree",
    "WattsStrogatz",
    "RandomCauchy",
    "Layered",
)
EDGE_WEIGHT_DISTRIBUTIONS = ("gaussian", "lognormal", "cauchy", "uniform")
COLUMN_TYPES = ("categorical", "numerical")
COLUMN_TRANSFORMS = ("identity", "rank_uniform", "signed_log1p", "signed_sqrt", "standardize")
PROPAGATION_MODES = ("type_eager", "type_lazy")
SOURCE_GENERATORS = ("ts", "uniform", "gaussian", "beta", "mixed")
MIXED_COMPONENTS = ("uniform", "gaussian", "beta")
AGGREGATIONS = ("sum", "max", "product", "logsumexp")
INITIALIZERS = (
    "kaiming_normal",
    "kaiming_uniform",
    "xavier_normal",
    "xavier_uniform",
    "trunc_normal",
    "sparse",
)
ACTIVATIONS = (
    "relu",
    "elu",
    "selu",
    "silu",
    "softsign",
    "tanh",
    "sigmoid",
    "hardswish",
    "mish",
    "leaky_relu",
    "gelu",
    "softplus",
    "hardsigmoid",
    "hardtanh",
    "celu",
    "tanhshrink",
    "rrelu",
    "logsigmoid",
    "softshrink",
    "hardshrink",
    "identity",
    "abs",
    "sin",
    "cos",
    "sign",
    "clamp",
    "signed_log1p",
    "bent_identity",
    "random_sines",
)


def _spec(kind: str, allowed: tuple | None = None, **extra: Any) -> dict[str, Any]:
    return {"kind": kind, "allowed": allowed, **extra}


def int_range(default: tuple[int, int], minimum: int = 0, maximum: int | None = None) -> Any:
    return field(
        default_factory=lambda: list(default),
        metadata=_spec("int_range", minimum=minimum, maximum=maximum),
    )


def float_range(
    default: tuple[float, float], minimum: float | None = None, maximum: float | None = None
) -> Any:
    return field(
        default_factory=lambda: list(default),
        metadata=_spec("float_range", minimum=minimum, maximum=maximum),
    )


def choices(default: tuple, allowed: tuple | None = None, item: str = "str") -> Any:
    return field(default_factory=lambda: list(default), metadata=_spec("set", allowed, item=item))


def scalar(
    default: Any, kind: str, minimum: float | None = None, maximum: float | None = None
) -> Any:
    return field(default=default, metadata=_spec(kind, minimum=minimum, maximum=maximum))


@dataclass
class DatabaseParams:
    """Stage 1 (schema) and post-processing parameters."""

    min_date: str = scalar("1990-01-01", "date")
    max_date: str = scalar("2025-01-01", "date")
    val_fraction: float = scalar(0.8, "prob")
    test_fraction: float = scalar(0.9, "prob")
    num_tables: list[int] = int_range((3, 20), minimum=1, maximum=MAX_TABLES)
    table_layouts: list[str] = choices(
        ("BarabasiAlbert", "ReverseRandomTree", "WattsStrogatz"), GRAPH_LAYOUTS
    )
    entity_rows: list[int] = int_range((500, 1000), minimum=1, maximum=MAX_ROWS)
    lookup_rows: list[int] = int_range((5, 30), minimum=1, maximum=MAX_ROWS)
    activity_rows: list[int] = int_range((2000, 5000), minimum=1, maximum=MAX_ROWS)
    feature_columns: list[int] = int_range((3, 40), minimum=1, maximum=MAX_COLUMNS)
    column_types: list[str] = choices(("categorical", "numerical"), COLUMN_TYPES)
    num_categories: list[int] = int_range((2, 10), minimum=2, maximum=MAX_CATEGORIES)
    max_foreign_keys: int = scalar(0, "int", minimum=0, maximum=MAX_COLUMNS)
    column_transforms: list[str] = choices(COLUMN_TRANSFORMS, COLUMN_TRANSFORMS)
    null_fraction: list[float] = float_range((0.01, 0.1), minimum=0.0, maximum=1.0)
    booleanize_categoricals: bool = scalar(True, "bool")
    drop_constant_columns: bool = scalar(True, "bool")


@dataclass
class ConnectivityParams:
    """Stage 2: hierarchical stochastic block model for foreign keys."""

    levels: list[int] = int_range((1, 5), minimum=1, maximum=64)
    clusters_per_level: list[int] = int_range((1, 3), minimum=1, maximum=MAX_TABLES)
    background: list[float] = float_range((0.001, 0.002), minimum=0.0)
    affinity: float = scalar(0.9, "float", minimum=0.0)


@dataclass
class SCMParams:
    """Stage 3: per-table structural causal models."""

    layouts: list[str] = choices(GRAPH_LAYOUTS, GRAPH_LAYOUTS)
    column_node_ratio: list[float] = float_range((0.3, 0.9), minimum=0.01, maximum=1.0)
    propagation_modes: list[str] = choices(PROPAGATION_MODES, PROPAGATION_MODES)
    hidden_node_types: list[str] = choices(("categorical", "numerical"), COLUMN_TYPES)
    hidden_num_categories: list[int] = int_range((2, 10), minimum=2, maximum=MAX_CATEGORIES)
    sources: list[str] = choices(SOURCE_GENERATORS, SOURCE_GENERATORS)
    value_scales: list[float] = choices((0.01, 0.1, 1.0, 10.0, 100.0), item="float")
    ts_trend_alpha: list[float] = float_range((0.0, 2.0), minimum=0.0)
    ts_cycle_fractions: list[float] = choices(
        (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0), item="float"
    )
    ts_ar_rho: list[float] = float_range((0.0, 0.9), minimum=0.0, maximum=0.999)
    activity_trend_scales: list[float] = choices((-1.0, 1.0), item="float")
    activity_cycle_scales: list[float] = choices((-1.0, 1.0), item="float")
    activity_noise_scale: float = scalar(0.05, "float", minimum=0.0)
    entity_trend_scale: float = scalar(0.0, "float")
    entity_cycle_scale: float = scalar(0.0, "float")
    entity_noise_scale: float = scalar(1.0, "float", minimum=0.0)
    source_beta_a: list[float] = float_range((0.5, 5.0), minimum=1e-6)
    source_beta_b: list[float] = float_range((0.5, 5.0), minimum=1e-6)
    mixed_components: list[int] = int_range((2, 3), minimum=1, maximum=64)
    node_noise_a: list[float] = float_range((0.5, 5.0), minimum=1e-6)
    node_noise_b: list[float] = float_range((0.5, 5.0), minimum=1e-6)
    aggregations: list[str] = choices(AGGREGATIONS, AGGREGATIONS)
    embedding_dim: int = scalar(32, "int", minimum=1, maximum=4096)
    mlp_layers: list[int] = int_range((2, 4), minimum=1, maximum=64)
    initializers: list[str] = choices(INITIALIZERS, INITIALIZERS)
    weight_density: list[float] = float_range((0.3, 1.0), minimum=1e-6, maximum=1.0)
    activations: list[str] = choices(ACTIVATIONS, ACTIVATIONS)
    activation_log_scale: list[float] = float_range((-1.0, 1.0))
    label_permute_prob: list[float] = float_range((0.3, 1.0), minimum=0.0, maximum=1.0)
    label_reverse_prob: list[float] = float_range((0.2, 0.8), minimum=0.0, maximum=1.0)
    term_clamp: float = scalar(1e4, "float", minimum=0.0)
    activation_clamp: float = scalar(1e6, "float", minimum=0.0)


# keys of earlier versions, named in the error for a file that still uses them
RENAMED_KEYS = {
    # 0.3.0: the clamp moved from every layer's pre-activation to each hidden layer's
    # output (scale x activation), as in the reference
    "scm.preactivation_clamp": "scm.activation_clamp",
}


@dataclass
class GraphParams:
    """Parameters of the seven graph generators (stages 1 and 3)."""

    edge_weight_distributions: list[str] = choices(
        EDGE_WEIGHT_DISTRIBUTIONS, EDGE_WEIGHT_DISTRIBUTIONS
    )
    erdos_renyi_p: list[float] = float_range((0.3, 0.8), minimum=0.0, maximum=1.0)
    barabasi_albert_m: int = scalar(2, "int", minimum=1, maximum=MAX_TABLES)
    barabasi_albert_drop_prob: float = scalar(0.4, "prob")
    watts_strogatz_k: list[int] = choices((2, 4), item="int")
    watts_strogatz_p: list[float] = float_range((0.1, 0.3), minimum=0.0, maximum=1.0)
    layered_depth: list[int] = int_range((2, 8), minimum=1, maximum=MAX_TABLES)
    layered_drop_prob: float = scalar(0.1, "prob")


#: The groups of method parameters (each a dataclass of keys).
PARAM_GROUPS = ("database", "connectivity", "scm", "graph")


@dataclass
class Config:
    """The whole configuration of a generated database (the seed is separate).

    Besides the method's parameter groups, ``rows`` fixes the row counts of named
    tables and ``columns`` overrides how named columns of a user's schema land
    (plurel_sql.values.overrides; both empty by default)."""

    database: DatabaseParams = field(default_factory=DatabaseParams)
    connectivity: ConnectivityParams = field(default_factory=ConnectivityParams)
    scm: SCMParams = field(default_factory=SCMParams)
    graph: GraphParams = field(default_factory=GraphParams)
    rows: dict[str, int] = field(default_factory=dict)
    columns: dict[str, dict[str, ColumnOverride]] = field(default_factory=dict)

    def validate(self) -> Config:
        """Check every value; raise ConfigError naming the first bad key."""
        for group in PARAM_GROUPS:
            params = getattr(self, group)
            for f in dataclasses.fields(params):
                value = getattr(params, f.name)
                setattr(params, f.name, _check(f"{group}.{f.name}", value, f.metadata))
        self.rows = parse_rows(self.rows)
        self.columns = parse_columns(
            {t: {c: _settings(o) for c, o in cols.items()} for t, cols in self.columns.items()}
        )
        _check_cross_field(self)
        return self

    def column_override(self, table: str, column: str) -> ColumnOverride | None:
        return self.columns.get(table, {}).get(column)

    def to_dict(self) -> dict[str, dict[str, Any]]:
        out = {group: dataclasses.asdict(getattr(self, group)) for group in PARAM_GROUPS}
        out["rows"] = dict(self.rows)
        out["columns"] = {
            t: {c: o.to_dict() for c, o in cols.items()} for t, cols in self.columns.items()
        }
        return out

    def to_toml(self) -> str:
        """TOML text that :meth:`from_toml` loads back to an equal Config."""
        lines: list[str] = []
        data = self.to_dict()
        for group in PARAM_GROUPS:
            lines.append(f"[{group}]")
            lines.extend(f"{key} = {_toml_value(value)}" for key, value in data[group].items())
            lines.append("")
        lines.append("[rows]")
        lines.extend(f"{_toml_key(t)} = {n}" for t, n in self.rows.items())
        lines.append("")
        for table, columns in data["columns"].items():
            for column, settings in columns.items():
                lines.append(f"[columns.{_toml_key(table)}.{_toml_key(column)}]")
                lines.extend(f"{k} = {_toml_value(v)}" for k, v in settings.items())
                lines.append("")
        return "\n".join(lines)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Config:
        """Build and validate a Config from nested mappings (missing keys take defaults)."""
        if not isinstance(data, Mapping):
            raise ConfigError("configuration must be a table of groups")
        config = cls()
        groups = (*PARAM_GROUPS, "rows", "columns")
        for group_name, values in data.items():
            if group_name not in groups:
                raise ConfigError(
                    f"unknown configuration group '{group_name}' (known: {', '.join(groups)})"
                )
            if not isinstance(values, Mapping):
                raise ConfigError(f"{group_name}: expected a table of keys")
            if group_name in ("rows", "columns"):
                setattr(config, group_name, values)
                continue
            params = getattr(config, group_name)
            known = {f.name for f in dataclasses.fields(params)}
            for key, value in values.items():
                if key not in known:
                    renamed = RENAMED_KEYS.get(f"{group_name}.{key}")
                    hint = f" (renamed to '{renamed}')" if renamed else ""
                    raise ConfigError(f"unknown configuration key '{group_name}.{key}'{hint}")
                setattr(params, key, value)
        return config.validate()

    @classmethod
    def from_toml(cls, path: str | Path) -> Config:
        """Load a TOML file; every problem becomes a one-line ConfigError."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {path}") from None
        except OSError as exc:
            raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: invalid TOML: {exc}") from None
        return cls.from_dict(data)

    def override(self, **groups: Mapping[str, Any]) -> Config:
        """A validated copy with some keys replaced: ``cfg.override(database={...})``."""
        data: dict[str, Any] = self.to_dict()
        for group, values in groups.items():
            if group not in data:
                raise ConfigError(f"unknown configuration group '{group}'")
            data[group] = {**data[group], **values}
        return Config.from_dict(data)


def _settings(override: ColumnOverride | Mapping[str, Any]) -> Mapping[str, Any]:
    """A column override as its TOML settings (what validation reads)."""
    return override.to_dict() if isinstance(override, ColumnOverride) else override


def _toml_key(name: str) -> str:
    """A TOML key: bare when it can be, else a quoted string."""
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else json.dumps(name)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, float):
        return repr(value) if value == value and abs(value) != float("inf") else str(value)
    return str(value)


def _check_bounds(key: str, value: float, meta: Mapping[str, Any]) -> None:
    lo, hi = meta.get("minimum"), meta.get("maximum")
    if lo is not None and value < lo:
        if lo == 1 and meta["kind"] in ("int", "int_range"):
            raise ConfigError(f"{key}: must be positive, got {value}")
        raise ConfigError(f"{key}: must be >= {lo}, got {value}")
    if hi is not None and value > hi:
        raise ConfigError(f"{key}: must be <= {hi}, got {value}")


def _check(key: str, value: Any, meta: Mapping[str, Any]) -> Any:
    kind = meta["kind"]
    if kind in ("int_range", "float_range"):
        is_item = is_int if kind == "int_range" else is_number
        noun = "integers" if kind == "int_range" else "numbers"
        if (
            not isinstance(value, (list, tuple))
            or len(value) != 2
            or not all(is_item(v) for v in value)
        ):
            raise ConfigError(f"{key}: expected [min, max] of {noun}, got {value!r}")
        lo, hi = value
        if lo > hi:
            raise ConfigError(f"{key}: min {lo} > max {hi}")
        if kind == "int_range" and meta.get("minimum", 0) >= 1 and lo < 1:
            raise ConfigError(f"{key}: counts must be positive, got {lo}")
        for v in value:
            _check_bounds(key, v, meta)
        return [int(lo), int(hi)] if kind == "int_range" else [float(lo), float(hi)]
    if kind == "set":
        item = meta.get("item", "str")
        if not isinstance(value, (list, tuple)) or not value:
            raise ConfigError(f"{key}: expected a non-empty list of options, got {value!r}")
        allowed = meta.get("allowed")
        out = []
        for v in value:
            if item == "str":
                if not isinstance(v, str):
                    raise ConfigError(f"{key}: options must be strings, got {v!r}")
                if allowed and v not in allowed:
                    raise ConfigError(f"{key}: unknown option '{v}' (known: {', '.join(allowed)})")
                out.append(v)
            elif item == "int":
                if not is_int(v) or v < 1:
                    raise ConfigError(f"{key}: options must be positive integers, got {v!r}")
                out.append(int(v))
            else:
                if not is_number(v):
                    raise ConfigError(f"{key}: options must be numbers, got {v!r}")
                out.append(float(v))
        return out
    if kind == "int":
        if not is_int(value):
            raise ConfigError(f"{key}: expected an integer, got {value!r}")
        _check_bounds(key, value, meta)
        return value
    if kind in ("float", "prob"):
        if not is_number(value):
            raise ConfigError(f"{key}: expected a number, got {value!r}")
        if kind == "prob" and not 0.0 <= value <= 1.0:
            raise ConfigError(f"{key}: probability must be in [0, 1], got {value}")
        _check_bounds(key, value, meta)
        return float(value)
    if kind == "bool":
        if not isinstance(value, bool):
            raise ConfigError(f"{key}: expected true or false, got {value!r}")
        return value
    if kind == "date":
        if isinstance(value, dt.datetime):
            value = value.date()
        if isinstance(value, dt.date):
            return value.isoformat()
        try:
            return dt.date.fromisoformat(str(value)).isoformat()
        except ValueError:
            raise ConfigError(f"{key}: expected a date YYYY-MM-DD, got {value!r}") from None
    raise AssertionError(f"unknown spec kind {kind}")


def _check_cross_field(config: Config) -> None:
    db = config.database
    if dt.date.fromisoformat(db.min_date) >= dt.date.fromisoformat(db.max_date):
        raise ConfigError(
            f"database.min_date {db.min_date} must be before database.max_date {db.max_date}"
        )
    if (dt.date.fromisoformat(db.max_date) - dt.date.fromisoformat(db.min_date)).days < 1:
        raise ConfigError("database: the time window must span at least two days")
    if db.val_fraction > db.test_fraction:
        raise ConfigError(
            f"database.val_fraction {db.val_fraction} > database.test_fraction {db.test_fraction}"
        )
    for name in ("propagation_modes",):
        if not getattr(config.scm, name):
            raise ConfigError(f"scm.{name}: must not be empty")


def default_config() -> Config:
    """The method's defaults (a fresh, validated object)."""
    return Config().validate()


def load_config(path: str | Path | None) -> Config:
    """The TOML file at ``path``, or the defaults when ``path`` is None."""
    return default_config() if path is None else Config.from_toml(path)
