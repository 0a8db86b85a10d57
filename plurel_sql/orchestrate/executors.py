"""Where a fleet's seeds run: in this process, a local process pool, or Ray tasks.

Every executor runs the same picklable task function on :class:`SeedTask` values
and reports each :class:`SeedResult` through a callback as it arrives, so the data
never depend on the executor. What differs is failure handling:

- ``local`` with one worker runs in the driver process itself.
- ``local`` with N workers is a process pool whose workers die with their parent
  (``PR_SET_PDEATHSIG`` on Linux plus a watchdog thread polling the parent pid, so
  a SIGKILLed, SIGTERMed or interrupted driver never leaves orphans blocked on a
  pipe). A worker killed mid-task breaks the pool; its unfinished seeds are
  resubmitted to a fresh pool, up to ``max_retries`` times each.
- ``ray`` submits Ray Core tasks (``max_retries``: Ray reruns a task whose worker or
  node died) to the cluster at ``address``, or to a local Ray started for the run
  and bound to 127.0.0.1. Ray is imported only here, only when chosen.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from typing import Any, Protocol

from plurel_sql.errors import ConfigError

EXECUTORS = ("local", "ray")
DEFAULT_RETRIES = 3


@dataclass(frozen=True)
class SeedTask:
    """Everything a worker needs for one seed (plain data: it crosses processes)."""

    seed: int
    url: str
    config: dict[str, Any]
    job: str
    chunk_rows: int
    replace: bool
    schema_sql: str | None
    record: Any = None  # the seed's LedgerRecord, or None
    attempt: int = 1


@dataclass
class SeedResult:
    """The outcome of one seed: ``status`` is ``done`` (generated), ``skipped``
    (already done and verified) or ``failed`` (``error`` holds the one-line
    reason). ``worker`` says where it ran (``host:pid``, plus the Ray node id)."""

    seed: int
    url: str  # password masked
    status: str = "done"
    rows: int = 0
    cells: int = 0
    seconds: float = 0.0
    error: str | None = None
    row_counts: dict[str, int] | None = None
    checksums: dict[str, str] | None = None
    generate_seconds: float = 0.0
    load_seconds: float = 0.0
    attempts: int = 1
    worker: str = ""


TaskFn = Callable[[SeedTask], SeedResult]
OnResult = Callable[[SeedResult], None]


class Executor(Protocol):
    def run(self, fn: TaskFn, tasks: list[SeedTask], on_result: OnResult) -> None: ...


def make_executor(
    name: str, workers: int, *, ray_address: str | None = None, max_retries: int = DEFAULT_RETRIES
) -> Executor:
    """The executor called ``name`` (``local`` or ``ray``)."""
    if workers < 1:
        raise ConfigError(f"--workers must be positive, got {workers}")
    if max_retries < 0:
        raise ConfigError(f"max_retries must be >= 0, got {max_retries}")
    if name == "local":
        if ray_address is not None:
            raise ConfigError("--ray-address needs --executor ray")
        return LocalExecutor(workers, max_retries) if workers > 1 else InlineExecutor()
    if name == "ray":
        return RayExecutor(workers, ray_address, max_retries)
    raise ConfigError(f"--executor must be one of {', '.join(EXECUTORS)}, got {name!r}")


class InlineExecutor:
    """One worker: the seeds run one after another in this process."""

    def run(self, fn: TaskFn, tasks: list[SeedTask], on_result: OnResult) -> None:
        for task in tasks:
            on_result(fn(task))


# ---------------------------------------------------------------- local pool

_PR_SET_PDEATHSIG = 1


def _die_with_parent(parent: int) -> None:
    """Pool-worker initializer: exit when the driver ``parent`` goes away.

    On Linux the kernel sends SIGKILL when the parent dies (prctl); everywhere a
    daemon thread polls the parent pid as a fallback. SIGINT is ignored: on Ctrl-C
    the driver decides (it terminates the pool), so workers never print tracebacks.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, name="plurel-parent-watch", daemon=True).start()


def _terminate(pool: ProcessPoolExecutor) -> None:
    """Stop a pool now: kill its workers, drop queued work."""
    processes = list(getattr(pool, "_processes", {}).values())
    for proc in processes:
        with contextlib.suppress(Exception):
            proc.kill()
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in processes:
        with contextlib.suppress(Exception):
            proc.join(5)


class LocalExecutor:
    """A pool of ``workers`` processes (fork start: workers share the driver's
    imports), at most ``2 * workers`` tasks in flight."""

    def __init__(self, workers: int, max_retries: int) -> None:
        self.workers = workers
        self.max_retries = max_retries

    def _pool(self) -> ProcessPoolExecutor:
        method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
        return ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=multiprocessing.get_context(method),
            initializer=_die_with_parent,
            initargs=(os.getpid(),),
        )

    def run(self, fn: TaskFn, tasks: list[SeedTask], on_result: OnResult) -> None:
        queue = list(tasks)
        while queue:
            pool = self._pool()
            try:
                queue = self._drain(pool, fn, queue, on_result)
            except BaseException:
                _terminate(pool)
                raise
            pool.shutdown(wait=True)

    def _drain(
        self, pool: ProcessPoolExecutor, fn: TaskFn, queue: list[SeedTask], on_result: OnResult
    ) -> list[SeedTask]:
        """Run ``queue`` on ``pool``; returns the tasks to retry on a fresh pool
        when a worker died (the pool is broken then)."""
        pending: dict[Future, SeedTask] = {}
        retry: list[SeedTask] = []
        broken = False
        while (queue and not broken) or pending:
            while queue and not broken and len(pending) < 2 * self.workers:
                task = queue.pop(0)
                try:
                    pending[pool.submit(fn, task)] = task
                except BrokenProcessPool:
                    queue.insert(0, task)
                    broken = True
            if not pending:
                break
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                task = pending.pop(future)
                try:
                    on_result(future.result())
                except BrokenProcessPool:
                    broken = True
                    if task.attempt > self.max_retries:
                        on_result(_died(task, "its worker process died"))
                    else:
                        retry.append(replace(task, attempt=task.attempt + 1))
        return retry + queue


def _died(task: SeedTask, why: str) -> SeedResult:
    from plurel_sql.dialects import mask_url

    return SeedResult(
        task.seed,
        mask_url(task.url),
        status="failed",
        error=f"{why} ({task.attempt} attempt(s))",
        attempts=task.attempt,
    )


# ---------------------------------------------------------------- ray


def import_ray() -> Any:
    """``ray``, or a one-line ConfigError saying how to install it."""
    try:
        import ray
    except ImportError:
        raise ConfigError("--executor ray needs Ray: pip install 'plurel-sql[ray]'") from None
    return ray


class RayExecutor:
    """Ray Core tasks, one per seed (``num_cpus=1``), retried by Ray when their
    worker or node dies. Connects to ``address`` when given (``auto``, or
    ``HOST:PORT`` of a running cluster); otherwise reuses a Ray already initialized
    in this process, or starts a local one with ``workers`` CPUs on 127.0.0.1 (no
    dashboard) and shuts it down afterwards."""

    def __init__(self, workers: int, address: str | None, max_retries: int) -> None:
        self.workers = workers
        self.address = address
        self.max_retries = max_retries

    def run(self, fn: TaskFn, tasks: list[SeedTask], on_result: OnResult) -> None:
        ray = import_ray()
        started = False
        if not ray.is_initialized():
            # the driver (and a local Ray's node) on the loopback address, never a
            # routable interface, also when joining an existing cluster
            options: dict[str, Any] = {
                "log_to_driver": False,
                "configure_logging": False,
                "_node_ip_address": "127.0.0.1",
            }
            if self.address is not None:
                ray.init(address=self.address, **options)
            else:
                ray.init(num_cpus=self.workers, include_dashboard=False, **options)
            started = True
        try:
            self._run(ray, fn, tasks, on_result)
        finally:
            if started:
                ray.shutdown()

    def _run(self, ray: Any, fn: TaskFn, tasks: list[SeedTask], on_result: OnResult) -> None:
        remote = ray.remote(num_cpus=1, max_retries=self.max_retries, retry_exceptions=False)(
            _ray_task
        )
        refs = {remote.remote(fn, task): task for task in tasks}
        while refs:
            ready, _ = ray.wait(list(refs), num_returns=1)
            for ref in ready:
                task = refs.pop(ref)
                try:
                    on_result(ray.get(ref))
                except ray.exceptions.RayError as exc:
                    why = type(exc).__name__
                    on_result(_died(replace(task, attempt=self.max_retries + 1), f"Ray: {why}"))


def _ray_task(fn: TaskFn, task: SeedTask) -> SeedResult:
    """The body of a Ray task: ``fn`` with the Ray node id added to ``worker``."""
    import ray

    result = fn(task)
    node = ray.get_runtime_context().get_node_id()
    result.worker = f"{result.worker}@{node}"
    return result
