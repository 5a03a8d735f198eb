"""The engine's process-wide state, created in the lifespan and kept on app.state.engine."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Coroutine
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.engine.arns import Arns
from services.engine.artifacts import ArtifactStore
from services.engine.config import Settings
from services.engine.leases import Leases
from services.engine.metrics import EngineMetrics
from services.engine.runtime.serving import Serving
from services.engine.worker import TrainingWorker

logger = logging.getLogger(__name__)


class EngineContext:
    def __init__(
        self,
        *,
        settings: Settings,
        db: AsyncEngine,
        sessionmaker: async_sessionmaker[AsyncSession],
        artifacts: ArtifactStore,
        metrics: EngineMetrics,
    ) -> None:
        self.settings = settings
        self.db = db
        self.sessionmaker = sessionmaker
        self.artifacts = artifacts
        self.metrics = metrics
        self.arns = Arns(settings.AWS_REGION, settings.ACCOUNT_ID)
        self.serving = Serving(
            sessionmaker, artifacts, score_cache_bytes=int(settings.SCORE_CACHE_MB * 2**20)
        )
        metrics.watch_score_caches(self.serving.score_cache_stats)
        self.worker = TrainingWorker(
            settings.TRAINING_WORKERS,
            settings.TRAINING_THREADS or os.cpu_count() or 1,
            nice=settings.TRAINING_NICE,
        )
        self.tasks: dict[str, asyncio.Task[Any]] = {}
        self.leases = Leases(sessionmaker, settings.LEASE_SECONDS)

    def spawn(
        self, key: str, coro: Coroutine[Any, Any, Any], *, leased: bool = True
    ) -> asyncio.Task[Any]:
        """Run a background lifecycle; keyed (by its resource's ARN) so it can be found (and
        stopped) later. `leased`: only under the lease on `key`, so that of several replicas
        one runs it (services/engine/leases.py)."""
        task = asyncio.create_task(self._leased(key, coro) if leased else coro, name=key)
        self.tasks[key] = task

        def _done(finished: asyncio.Task[Any]) -> None:
            if self.tasks.get(key) is finished:
                del self.tasks[key]
            if not finished.cancelled() and finished.exception() is not None:
                logger.error("background task %s failed", key, exc_info=finished.exception())

        task.add_done_callback(_done)
        return task

    async def _leased(self, key: str, coro: Coroutine[Any, Any, Any]) -> Any:
        if not await self.leases.claim(key):
            coro.close()  # another replica runs it
            return None
        try:
            result = await coro
        except asyncio.CancelledError:
            raise  # shutdown: the lease is left for `abandon`
        except BaseException:
            await self.leases.release(key)
            raise
        await self.leases.release(key)
        return result

    async def close(self) -> None:
        for task in list(self.tasks.values()):
            task.cancel()
        await asyncio.gather(*self.tasks.values(), return_exceptions=True)
        try:  # what was left unfinished is anybody's to take over, at once
            await self.leases.abandon()
        except Exception:  # the database is gone: the leases expire on their own
            logger.exception("could not give up the leases at shutdown")
        self.worker.shutdown()
        await self.db.dispose()
