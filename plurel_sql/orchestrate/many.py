"""Generate many databases: a resumable fleet over local processes or Ray.

Pretraining uses thousands of databases, so ``generate_many`` fans seeds out over
an executor (:mod:`plurel_sql.orchestrate.executors`), one database per task, each
written atomically by the materializer into the URL the template gives for its
seed — whatever URL :func:`plurel_sql.generate` accepts. Every database depends
only on its own (seed, config), so the data are identical whatever the executor,
the number of workers or the order in which seeds finish.

A ledger at the output location (:mod:`plurel_sql.orchestrate.ledger`) records
every finished seed; a rerun skips the seeds whose database still verifies against
it (:mod:`plurel_sql.orchestrate.resume`) and regenerates the rest.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterable
from pathlib import Path

from plurel_sql import __version__
from plurel_sql.dialects import mask_url
from plurel_sql.errors import ConfigError, PlurelError
from plurel_sql.generator.stream import DEFAULT_CHUNK_ROWS
from plurel_sql.orchestrate.executors import (
    DEFAULT_RETRIES,
    SeedResult,
    SeedTask,
    make_executor,
)
from plurel_sql.orchestrate.job import ConfigLike, as_config, generate
from plurel_sql.orchestrate.ledger import SEED_FIELD, Ledger, LedgerRecord, job_key, ledger_path

__all__ = ["SeedResult", "generate_many", "parse_seeds", "url_for"]


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


def run_seed(task: SeedTask) -> SeedResult:
    """Worker body: skip the seed if it is done and verifies, else generate it.
    Errors come back as one-line text in the result (they cross processes)."""
    from plurel_sql.orchestrate.resume import check_seed

    masked = mask_url(task.url)
    where = f"{socket.gethostname()}:{os.getpid()}"
    replace = task.replace
    try:
        if not task.replace:
            verdict = check_seed(task.url, task.seed, task.record, task.job, task.config)
            if verdict.done:
                counts = verdict.row_counts or {}
                return SeedResult(
                    task.seed,
                    masked,
                    status="skipped",
                    rows=sum(counts.values()),
                    row_counts=counts,
                    checksums=verdict.checksums,
                    attempts=task.attempt,
                    worker=where,
                )
            replace = verdict.replace
        result = generate(
            task.url,
            task.seed,
            task.config,
            chunk_rows=task.chunk_rows,
            replace=replace,
            schema_sql=task.schema_sql,
        )
    except PlurelError as exc:
        return SeedResult(task.seed, masked, "failed", error=str(exc), worker=where)
    except Exception as exc:  # a bug must not sink the other seeds: report it per seed
        text = f"{type(exc).__name__}: {' '.join(str(exc).split())}"[:500]
        return SeedResult(task.seed, masked, "failed", error=text, worker=where)
    return SeedResult(
        task.seed,
        masked,
        rows=result.rows,
        cells=result.cells,
        seconds=result.total_seconds,
        row_counts=result.row_counts,
        checksums=result.checksums,
        generate_seconds=result.generate_seconds,
        load_seconds=result.load_seconds,
        attempts=task.attempt,
        worker=where,
    )


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
    executor: str = "local",
    ray_address: str | None = None,
    ledger: str | os.PathLike | None = None,
    max_retries: int = DEFAULT_RETRIES,
) -> list[SeedResult]:
    """Generate one database per seed into ``url_template`` (``{seed}`` is replaced
    by the seed); returns one :class:`SeedResult` per seed, in seed order.

    ``seeds`` is an iterable or text such as ``"0-99"`` or ``"1,5,9"``. ``config``
    as for :func:`plurel_sql.generate`; with ``schema_sql`` every database follows
    that file's CREATE TABLE schema. ``executor``: ``"local"`` (``workers``
    processes; 1 = this process) or ``"ray"`` (Ray tasks on the cluster at
    ``ray_address``, or on a local Ray bound to 127.0.0.1 with ``workers`` CPUs).

    Resumable: seeds whose database is done and verifies against the ledger
    (``ledger``, default next to the outputs, docs/fleets.md) come back
    ``skipped``; the others are (re)generated. ``replace=True`` regenerates every
    seed. A seed whose worker died is retried up to ``max_retries`` times. A
    failing seed is reported in its result (``status="failed"``, ``error``),
    never raised; ``on_done`` is called as each one finishes.
    """
    seeds = parse_seeds(seeds) if isinstance(seeds, str) else sorted(set(seeds))
    urls = {seed: url_for(url_template, seed) for seed in seeds}
    if len(set(urls.values())) != len(urls):
        raise ConfigError("--url-template gives the same URL for different seeds")
    run = make_executor(executor, workers, ray_address=ray_address, max_retries=max_retries)
    cfg = as_config(config).to_dict()
    schema_text = None
    if schema_sql is not None:
        schema_sql = os.fspath(schema_sql)
        try:
            schema_text = Path(schema_sql).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"--schema-sql {schema_sql}: {exc.strerror}") from None
    job = job_key(cfg, schema_text, __version__)
    book = Ledger(ledger_path(url_template, ledger))
    tasks = [
        SeedTask(seed, urls[seed], cfg, job, chunk_rows, replace, schema_sql, book.get(urls[seed]))
        for seed in seeds
    ]
    results: list[SeedResult] = []

    def finished(result: SeedResult) -> None:
        if result.status != "skipped" or book.get(result.url) is None:
            book.append(_record(result, job))
        results.append(result)
        if on_done:
            on_done(result)

    run.run(run_seed, tasks, finished)
    return sorted(results, key=lambda r: r.seed)


def _record(result: SeedResult, job: str) -> LedgerRecord:
    """The ledger line for a finished seed (an adopted database is recorded as done)."""
    return LedgerRecord(
        url=result.url,
        seed=result.seed,
        status="failed" if result.status == "failed" else "done",
        job=job,
        row_counts=result.row_counts or {},
        checksums=result.checksums or {},
        cells=result.cells,
        seconds=round(result.seconds, 3),
        generate_seconds=round(result.generate_seconds, 3),
        load_seconds=round(result.load_seconds, 3),
        attempts=result.attempts,
        worker=result.worker,
        error=result.error,
    )
