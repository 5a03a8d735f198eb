"""Startup and shutdown: migrations, state, and recovery of what was in flight.

After a restart (clean or kill -9):
- solution versions that were training are marked CREATE FAILED (the worker died with
  the process) and import jobs that were running are marked CREATE FAILED (their
  transaction never committed, so nothing was half-imported);
- other resources in CREATE PENDING/IN_PROGRESS resume their lifecycle, deletions resume;
- every ACTIVE campaign is loaded from its artifacts in the background (and lazily on
  its first request), so it serves the same results as before.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from sqlalchemy import select
from threadpoolctl import threadpool_limits

from services.common.db import create_engine, create_sessionmaker
from services.common.migrations import upgrade_to_head_async
from services.engine import dataset_files, lifecycle
from services.engine.artifacts import artifact_store
from services.engine.config import Settings
from services.engine.context import EngineContext
from services.engine.controlplane import (
    batch_inference_jobs,
    batch_segment_jobs,
    campaigns,
    dataset_groups,
    datasets,
    event_trackers,
    filters,
    solutions,
)
from services.engine.crud import set_status
from services.engine.metrics import EngineMetrics
from services.engine.models import (
    BatchInferenceJob,
    BatchSegmentJob,
    Campaign,
    Dataset,
    DatasetFiles,
    DatasetGroup,
    DatasetImportJob,
    EventTracker,
    Filter,
    Solution,
    SolutionVersion,
)

logger = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).parent / "migrations"
CREATING = (lifecycle.PENDING, lifecycle.IN_PROGRESS)
DELETING = (lifecycle.DELETE_PENDING, lifecycle.DELETE_IN_PROGRESS)
SIMPLE = {
    DatasetGroup: dataset_groups,
    Dataset: datasets,
    Solution: solutions,
    Filter: filters,
    EventTracker: event_trackers,
    # Batch jobs run again from the start: their output appears whole or not at all.
    BatchInferenceJob: batch_inference_jobs,
    BatchSegmentJob: batch_segment_jobs,
}


async def recover(ctx: EngineContext, *, startup: bool = False) -> None:
    """Finish or fail the work nobody runs any more: at startup, and every third of
    LEASE_SECONDS for work a dead replica left (services/engine/leases.py)."""
    async with ctx.sessionmaker() as session:
        versions = (
            (
                await session.execute(
                    select(SolutionVersion).where(
                        SolutionVersion.status.in_((*CREATING, lifecycle.STOPPING))
                    )
                )
            )
            .scalars()
            .all()
        )
        jobs = (
            (
                await session.execute(
                    select(DatasetImportJob).where(DatasetImportJob.status.in_(CREATING))
                )
            )
            .scalars()
            .all()
        )
        pending = {
            model: (
                await session.execute(select(model).where(model.status.in_((*CREATING, *DELETING))))
            )
            .scalars()
            .all()
            for model in (*SIMPLE, Campaign)
        }
        active_campaigns = (
            (await session.execute(select(Campaign).where(Campaign.status == lifecycle.ACTIVE)))
            .scalars()
            .all()
        )
    updating = {}
    for campaign in active_campaigns:
        update = json.loads(campaign.latest_update) if campaign.latest_update else None
        if update and update["status"] in CREATING:
            updating[campaign.arn] = (campaign, update["solutionVersionArn"])
    rows = [*versions, *jobs, *(r for group in pending.values() for r in group)]
    rows += [campaign for campaign, _ in updating.values()]
    orphans = await ctx.leases.orphaned(
        [(row.arn, row.updated) for row in rows if row.arn not in ctx.tasks]
    )
    for version in versions:
        if version.arn not in orphans or not await ctx.leases.claim(version.arn):
            continue
        stopped = version.status == lifecycle.STOPPING
        await set_status(
            sessionmaker=ctx.sessionmaker,
            model=SolutionVersion,
            arn=version.arn,
            status=lifecycle.STOPPED if stopped else lifecycle.FAILED,
            failure_reason="Stopped by StopSolutionVersionCreation."
            if stopped
            else "The engine restarted while this solution version was training; "
            "create a new solution version.",
        )
        await ctx.leases.release(version.arn)
    for job in jobs:
        if job.arn not in orphans or not await ctx.leases.claim(job.arn):
            continue
        await _end_import(ctx, job)
        await ctx.leases.release(job.arn)
    for model, group in pending.items():
        for row in group:
            if row.arn not in orphans:
                continue
            deleting = row.status in DELETING
            if model is Campaign:
                assert isinstance(row, Campaign)
                if deleting:
                    campaigns.resume_delete(ctx, row.arn)
                else:
                    campaigns.resume(ctx, row.arn, row.solution_version_arn)
            elif deleting:
                SIMPLE[model].resume_delete(ctx, row.arn)  # type: ignore[attr-defined]
            else:
                SIMPLE[model].resume(ctx, row.arn)  # type: ignore[attr-defined]
    for arn, (_, version_arn) in updating.items():
        if arn in orphans:
            campaigns.resume_update(ctx, arn, version_arn)
    if startup:
        for campaign in active_campaigns:
            ctx.spawn(f"warm:{campaign.arn}", _warm(ctx, campaign.arn), leased=False)


async def _end_import(ctx: EngineContext, job: DatasetImportJob) -> None:
    """An import whose engine stopped: done if its rows went in, else failed and its
    published files (if any) removed."""
    async with ctx.sessionmaker() as session:
        installed = await session.scalar(
            select(DatasetFiles.key).where(DatasetFiles.job_arn == job.arn)
        )
    if installed is not None:  # stopped after its rows went in: it is done
        await set_status(
            sessionmaker=ctx.sessionmaker,
            model=DatasetImportJob,
            arn=job.arn,
            status=lifecycle.ACTIVE,
        )
        return
    await set_status(
        sessionmaker=ctx.sessionmaker,
        model=DatasetImportJob,
        arn=job.arn,
        status=lifecycle.FAILED,
        failure_reason="The engine restarted during the import; nothing was imported. "
        "Run the job again.",
    )
    await dataset_files.discard(ctx.artifacts, [dataset_files.set_key(job.dataset_arn, job.arn)])


async def _sweep(ctx: EngineContext) -> None:
    """Renew this replica's leases and take over what dead replicas left, forever."""
    while True:
        await asyncio.sleep(ctx.settings.LEASE_SECONDS / 3)
        try:
            await ctx.leases.renew()
            await recover(ctx)
        except Exception:  # a database hiccup: try again next round
            logger.exception("lease sweep failed")


async def _warm(ctx: EngineContext, campaign_arn: str) -> None:
    try:
        await ctx.serving.deployment(campaign_arn)
    except Exception:  # the first request will retry and report the error
        logger.exception("could not load campaign %s at startup", campaign_arn)


def lifespan_for(settings: Settings):  # type: ignore[no-untyped-def]
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Requests are small numpy operations: one BLAS thread each avoids thread hand-offs
        # (and tail latency) when the event loop, wrk or a training worker share the cores.
        threadpool_limits(1)
        if settings.AUTO_MIGRATE:
            await upgrade_to_head_async(MIGRATIONS, settings.DATABASE_URL)
        db = create_engine(
            settings.DATABASE_URL,
            pool_size=settings.DATABASE_POOL_SIZE,
            echo=settings.DATABASE_ECHO,
        )
        ctx = EngineContext(
            settings=settings,
            db=db,
            sessionmaker=create_sessionmaker(db),
            artifacts=artifact_store(
                settings.ARTIFACTS_URL,
                endpoint_url=settings.S3_ENDPOINT_URL,
                region=settings.AWS_REGION,
                cache_dir=settings.ARTIFACTS_CACHE_DIR,
            ),
            metrics=EngineMetrics(app.state.metrics.registry),
        )
        app.state.engine = ctx
        app.state.engine_db = db
        app.state.sessionmaker = ctx.sessionmaker
        await recover(ctx, startup=True)
        await ctx.artifacts.sweep_staging()
        ctx.spawn("lease-sweeper", _sweep(ctx), leased=False)
        await ctx.serving.feed.start()
        ctx.spawn("event-feed", ctx.serving.feed.run(settings.EVENTS_POLL_SECONDS), leased=False)
        try:
            yield
        finally:
            await ctx.close()

    return lifespan
