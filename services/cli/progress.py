"""How the pipeline reports its steps: a small protocol, and a rich implementation for the CLI."""

from __future__ import annotations

import time
from typing import Protocol

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn


class PipelineProgress(Protocol):
    """Called by `run_pipeline` as each step starts and ends (steps may overlap)."""

    def start(self, step: str, description: str) -> None: ...

    def finish(self, step: str, detail: str) -> None: ...


class RichProgress:
    """One spinner line per step with its elapsed time; a tick and a detail when it ends."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self._progress = Progress(
            SpinnerColumn(finished_text="[green]✓"),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=self.console,
            transient=False,
        )
        self._tasks: dict[str, TaskID] = {}

    def __enter__(self) -> RichProgress:
        self._progress.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._progress.stop()

    def start(self, step: str, description: str) -> None:
        self._tasks[step] = self._progress.add_task(description, total=1)

    def finish(self, step: str, detail: str) -> None:
        task = self._tasks.get(step)
        if task is None:
            task = self._tasks[step] = self._progress.add_task(step, total=1)
        old = self._progress.tasks[task].description
        self._progress.update(task, completed=1, description=f"{old} [dim]{detail}")


class LogProgress:
    """Plain lines with timestamps, for logs and non-interactive runs."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self._started: dict[str, float] = {}

    def start(self, step: str, description: str) -> None:
        self._started[step] = time.monotonic()
        self.console.print(f"… {description}", highlight=False)

    def finish(self, step: str, detail: str) -> None:
        elapsed = time.monotonic() - self._started.get(step, time.monotonic())
        self.console.print(f"✓ {step}: {detail} ({elapsed:.1f}s)", highlight=False)
