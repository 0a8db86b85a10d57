"""Progress reporting for long loads: rich bars on a terminal, one line per table
otherwise, nothing with ``--quiet``. Messages never contain passwords (callers pass
masked URLs only)."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """No-op reporter (``--quiet``) and the interface of the others."""

    def start_table(self, name: str, total: int) -> None: ...

    def advance(self, rows: int) -> None: ...

    def finish_table(self) -> None: ...

    def phase(self, text: str) -> None: ...

    def close(self) -> None: ...


class LineProgress(Progress):
    """One line per finished table (for logs and non-terminal stderr)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.name = ""
        self.rows = 0
        self.started = 0.0

    def start_table(self, name: str, total: int) -> None:
        self.name, self.rows, self.started = name, 0, time.perf_counter()

    def advance(self, rows: int) -> None:
        self.rows += rows

    def finish_table(self) -> None:
        seconds = max(time.perf_counter() - self.started, 1e-9)
        print(
            f"table {self.name}: {self.rows} rows ({self.rows / seconds:,.0f} rows/s)",
            file=self.stream,
            flush=True,
        )

    def phase(self, text: str) -> None:
        print(text, file=self.stream, flush=True)


class RichProgress(Progress):
    """A rich progress bar per table with rows/s."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TextColumn,
            TimeElapsedColumn,
        )
        from rich.progress import Progress as Bars

        self.bars = Bars(
            TextColumn("{task.description:<24}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]:>14}"),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=False,
        )
        self.bars.start()
        self.task = None
        self.rows = 0
        self.started = 0.0

    def start_table(self, name: str, total: int) -> None:
        self.task = self.bars.add_task(name, total=max(total, 1), rate="")
        self.rows, self.started = 0, time.perf_counter()

    def advance(self, rows: int) -> None:
        self.rows += rows
        rate = self.rows / max(time.perf_counter() - self.started, 1e-9)
        self.bars.update(self.task, advance=rows, rate=f"{rate:,.0f} rows/s")

    def finish_table(self) -> None:
        self.bars.update(self.task, total=max(self.rows, 1), completed=max(self.rows, 1))

    def phase(self, text: str) -> None:
        self.bars.console.print(text)

    def close(self) -> None:
        self.bars.stop()


def make_progress(quiet: bool, stream: TextIO | None = None) -> Progress:
    if quiet:
        return Progress()
    stream = stream or sys.stderr
    return RichProgress() if stream.isatty() else LineProgress(stream)
