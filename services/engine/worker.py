"""Training runs in a separate process, so the API never blocks on it.

One `ProcessPoolExecutor` with the spawn start method (no forked copy of the event
loop, DB connections or locks). The parent sends a `TrainingSource` (where the Parquet
files are, the few database rows; inter-process pickling of plain data only, artifacts
never use pickle); the child builds the `TrainingData` from it, trains, saves the model
into a staging directory and returns the figures.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import shutil
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.engine.training_data import TrainingSource, assemble


@dataclass(frozen=True)
class TrainingOutcome:
    metrics: dict[str, float]
    tuned_hyperparameters: dict[str, str]
    training_seconds: float


def _exit_with_parent(parent: int) -> None:
    # After a kill -9 of the engine nobody shuts the pool down, and an idle worker would
    # wait on its call queue forever (holding its memory): it leaves once it is orphaned.
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(0)


def _init_worker(threads: int, nice: int) -> None:
    threading.Thread(
        target=_exit_with_parent, args=(os.getppid(),), name="exit-with-parent", daemon=True
    ).start()
    # The cores are shared with the API process: training may use every core the API
    # leaves idle, at a lower priority, so a request never waits behind a training thread.
    if nice:
        os.nice(nice)
    from threadpoolctl import threadpool_limits

    threadpool_limits(threads)  # numpy's BLAS, already loaded
    # Read by torch and OpenMP when a recipe first loads them (not imported here: slow).
    os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = str(threads)


def train_job(
    source: TrainingSource,
    recipe_name: str,
    hyperparameters: dict[str, str] | None,
    perform_hpo: bool,
    seed: int,
    staging: str,
) -> TrainingOutcome:
    """Runs in the worker process: build the data, train, save the model into `staging`."""
    from services.engine.recipes.training import train_solution_version

    data = assemble(source)
    if data.n_users == 0:
        raise ValueError(
            "The dataset group has no interactions: import an Interactions dataset first."
        )
    result = train_solution_version(
        data,
        recipe_name=recipe_name,
        hyperparameters=hyperparameters,
        perform_hpo=perform_hpo,
        seed=seed,
    )
    out = Path(staging)
    try:
        out.mkdir(parents=True)
        result.model.save(out)
    except OSError as exc:
        # A full disk, a quota or a file-size limit: no half-written model stays behind,
        # and the version fails saying why (RuntimeError: the caller's "Training failed").
        shutil.rmtree(out, ignore_errors=True)
        raise RuntimeError(
            f"the model could not be written to the artifact store: {exc.strerror or exc}"
        ) from None
    return TrainingOutcome(
        metrics=dict(result.metrics),
        tuned_hyperparameters=dict(result.tuned_hyperparameters),
        training_seconds=float(result.training_seconds),
    )


class TrainingWorker:
    """The pool; recreated if a worker process dies."""

    def __init__(self, workers: int, threads: int = 1, *, nice: int = 0) -> None:
        self.workers = workers
        self.threads = threads
        self.nice = nice
        self._pool: ProcessPoolExecutor | None = None

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_worker,
                initargs=(self.threads, self.nice),
            )
        return self._pool

    async def run(self, *args: Any) -> TrainingOutcome:
        return await self.call(train_job, *args)  # type: ignore[no-any-return]

    async def call(self, job: Callable[..., Any], *args: Any) -> Any:
        """`job(*args)` in a worker process (a module-level function, picklable arguments):
        training, and batch jobs (services/engine/batch.py)."""
        try:
            future: Future[Any] = self._executor().submit(job, *args)
        except BrokenProcessPool:
            self._pool = None
            future = self._executor().submit(job, *args)
        try:
            return await asyncio.wrap_future(future)
        except BrokenProcessPool:
            self._pool = None
            raise RuntimeError("the training worker process died") from None

    def shutdown(self) -> None:
        if self._pool is not None:
            for process in list(getattr(self._pool, "_processes", {}).values()):
                process.terminate()
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
