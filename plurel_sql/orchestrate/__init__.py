"""Orchestration beside the public API: one database into a URL (:mod:`.job`) and
many databases over worker processes (:mod:`.many`)."""

from plurel_sql.orchestrate.job import as_config, generate
from plurel_sql.orchestrate.many import SeedResult, generate_many, parse_seeds

__all__ = ["SeedResult", "as_config", "generate", "generate_many", "parse_seeds"]
