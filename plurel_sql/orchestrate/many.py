"""Generate many databases in parallel worker processes.

Pretraining uses thousands of databases, so ``generate_many`` fans seeds out over
worker processes (one database per task, each written atomically by the
materializer). Every database depends only on its own (seed, config), so the data
are identical whatever the number of workers or the order in which seeds finish.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from plurel_sql.dialects import create_engine, mask_url
from plurel_sql.errors import ConfigError, PlurelError
from plurel_sql.generator.stream import DEFAULT_CHUNK_ROWS
from plurel_sql.orchestrate.job import ConfigLike, as_config, generate

SEED_FIELD = "{seed}"


@dataclass
class SeedResult:
    """The outcome of one seed: rows/cells written, or the one-line error."""

    seed: int
    url: str  # password masked
    rows: int = 0
    cells: int = 0
    seconds: float = 0.0
    error: str | None = None


def parse_seeds(text: str) -> list[int]:
    """``"0-99"``, ``"3,5,8"`` or a mix such as ``"0-9,20"`` -> sorted unique seeds."""
    seeds: set[int] = set()
    try:
        for part in text.split(","):
            part = part.strip()
            if "-" in part:
                lo, hi = (int(x) for x in part.split("-", 1))
                if lo > hi:
                    raise ConfigError(f"seed range {part}: start > end")
                seeds.update(range(lo, hi + 1))
            elif part:
                seeds.add(int(part))
    except ValueError:
        raise ConfigError(f"--seeds: expected e.g. 0-99 or 1,5,9, got {text!r}") from None
    if not seeds:
        raise ConfigError("--seeds: no seeds given")
    if min(seeds) < 0:
        raise ConfigError("--seeds: seeds must be non-negative")
    return sorted(seeds)


def url_for(template: str, seed: int) -> str:
    if SEED_FIELD not in template:
        raise ConfigError(f"--url-template must contain {SEED_FIELD}, got {template!r}")
    return template.replace(SEED_FIELD, str(seed))


def _generate_one(
    seed: int,
    url: str,
    config: dict[str, Any],
    replace: bool,
    chunk_rows: int,
    schema_sql: str | None = None,
) -> SeedResult:
    """Worker body: one database, errors returned as text (they cross processes)."""
    masked = mask_url(url)
    try:
        engine = create_engine(url)  # the URL is parsed once, here
        result = generate(
            engine, seed, config, chunk_rows=chunk_rows, replace=replace, schema_sql=schema_sql
        )
    except PlurelError as exc:
        return SeedResult(seed, masked, error=str(exc))
    except Exception as exc:  # a bug must not sink the other seeds: report it per seed
        text = " ".join(str(exc).split())
        return SeedResult(seed, masked, error=f"{type(exc).__name__}: {text}"[:500])
    return SeedResult(seed, masked, result.rows, result.cells, result.total_seconds)


def generate_many(
    seeds: Iterable[int] | str,
    url_template: str,
    config: ConfigLike = None,
    *,
    workers: int = 1,
    replace: bool = False,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    on_done: Callable[[SeedResult], None] | None = None,
    schema_sql: str | os.PathLike | None = None,
) -> list[SeedResult]:
    """Generate one database per seed into ``url_template`` (``{seed}`` is replaced
    by the seed), in ``workers`` processes; returns one :class:`SeedResult` per seed,
    in seed order. ``seeds`` is an iterable or text such as ``"0-99"`` or ``"1,5,9"``.
    ``config`` as for :func:`plurel_sql.generate`; with ``schema_sql`` every database
    follows that file's CREATE TABLE schema. A failing seed is reported in its
    result (``error``), never raised; ``on_done`` is called as each one finishes."""
    seeds = parse_seeds(seeds) if isinstance(seeds, str) else list(seeds)
    urls = {seed: url_for(url_template, seed) for seed in seeds}
    if len(set(urls.values())) != len(urls):
        raise ConfigError("--url-template gives the same URL for different seeds")
    if workers < 1:
        raise ConfigError(f"--workers must be positive, got {workers}")
    cfg = as_config(config).to_dict()
    schema_sql = None if schema_sql is None else os.fspath(schema_sql)
    results: list[SeedResult] = []
    if workers == 1:
        for seed in seeds:
            results.append(_generate_one(seed, urls[seed], cfg, replace, chunk_rows, schema_sql))
            if on_done:
                on_done(results[-1])
        return results
    with ProcessPoolExecutor(max_workers=workers) as pool:
        pending: set[Future] = set()
        queue = list(seeds)
        while queue or pending:
            while queue and len(pending) < workers * 2:
                seed = queue.pop(0)
                args = (seed, urls[seed], cfg, replace, chunk_rows, schema_sql)
                pending.add(pool.submit(_generate_one, *args))
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                results.append(future.result())
                if on_done:
                    on_done(results[-1])
    return sorted(results, key=lambda r: r.seed)
