"""Overlap loading with generation: one background thread loads batches in order.

The generator (numpy/torch) and the engine (DuckDB execution, a PostgreSQL server
ingesting COPY data) both release the GIL for most of their work, so loading batch
*i* while the main thread generates batch *i+1* hides much of the load time. At most
one batch waits while another loads, so memory stays bounded by two batches. The
connection is used by the worker only; callers :meth:`flush` before touching it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any


class BackgroundLoader:
    """Run ``fn(*args)`` calls one at a time, in submission order, on a worker thread."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="plurel-load")
        self._pending: Future | None = None
        #: seconds the caller spent blocked waiting for the worker
        self.wait_seconds = 0.0
        #: seconds the worker spent running submitted calls
        self.busy_seconds = 0.0

    def _timed(self, fn: Callable[..., Any], *args: Any) -> Any:
        started = time.perf_counter()
        try:
            return fn(*args)
        finally:
            self.busy_seconds += time.perf_counter() - started

    def submit(self, fn: Callable[..., Any], *args: Any) -> None:
        """Queue a call after waiting for the previous one (errors surface here)."""
        self.flush()
        self._pending = self._pool.submit(self._timed, fn, *args)

    def flush(self) -> None:
        """Wait for the queued call; re-raise its exception in the caller."""
        if self._pending is not None:
            started = time.perf_counter()
            pending, self._pending = self._pending, None
            try:
                pending.result()
            finally:
                self.wait_seconds += time.perf_counter() - started

    def close(self) -> None:
        """Wait for the worker to go idle (never raises) and stop it."""
        if self._pending is not None:
            self._pending.exception()
            self._pending = None
        self._pool.shutdown(wait=True)
