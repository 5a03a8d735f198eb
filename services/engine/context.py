"""The engine's process-wide state, created in the lifespan and kept on app.state.engine."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.engine.arns import Arns
from services.engine.artifacts import ArtifactStore
from services.engine.config import Settings
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
        self.worker = TrainingWorker(settings.TRAINING_WORKERS, settings.TRAINING_THREADS)
        self.tasks: dict[str, asyncio.Task[Any]] = {}

    def spawn(self, key: str, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run a background lifecycle; keyed so it can be found (and stopped) later."""
        task = asyncio.create_task(coro, name=key)
        self.tasks[key] = task

        def _done(finished: asyncio.Task[Any]) -> None:
            if self.tasks.get(key) is finished:
                del self.tasks[key]
            if not finished.cancelled() and finished.exception() is not None:
                logger.error("background task %s failed", key, exc_info=finished.exception())

        task.add_done_callback(_done)
        return task

    async def close(self) -> None:
        for task in list(self.tasks.values()):
            task.cancel()
        await asyncio.gather(*self.tasks.values(), return_exceptions=True)
        self.worker.shutdown()
        await self.db.dispose()
