"""CreateSolutionVersion, DescribeSolutionVersion, ListSolutionVersions,
StopSolutionVersionCreation, GetSolutionMetrics. Training runs in the worker process."""

from __future__ import annotations

import asyncio
import json
import time
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from services.engine import lifecycle
from services.engine.arns import name_of
from services.engine.controlplane.common import drop_none, now, require_active, stamps
from services.engine.controlplane.recipes import trained_recipe
from services.engine.crud import get_resource, list_page, set_status
from services.engine.lifecycle import StepFailed
from services.engine.models import Solution, SolutionVersion
from services.engine.recipes import RECIPES
from services.engine.training_data import training_source
from services.engine.wire import validate
from services.engine.wire.errors import InUse, InvalidInput, NotFound

if TYPE_CHECKING:
    from services.engine.context import EngineContext

RUNNING = (lifecycle.PENDING, lifecycle.IN_PROGRESS, lifecycle.STOPPING)


def summary(row: SolutionVersion) -> dict[str, Any]:
    return drop_none(
        {
            "solutionVersionArn": row.arn,
            "status": row.status,
            "trainingMode": row.training_mode,
            "trainingType": "MANUAL",
            "failureReason": row.failure_reason,
            **stamps(row),
        }
    )


async def _train(ctx: EngineContext, arn: str) -> None:
    """The work of CREATE IN_PROGRESS: data from the DB, training in the worker, artifacts."""
    async with ctx.sessionmaker() as session:
        version = await session.get(SolutionVersion, arn)
        solution = await session.get(Solution, version.solution_arn) if version else None
    if version is None or solution is None or solution.recipe_arn is None:
        raise StepFailed("The solution was deleted during training.")
    config = json.loads(solution.solution_config)
    threshold = config.get("eventValueThreshold")
    source = await training_source(
        ctx.sessionmaker,
        ctx.artifacts,
        solution.dataset_group_arn,
        event_type=solution.event_type,
        event_value_threshold=float(threshold) if threshold is not None else None,
    )
    recipe = trained_recipe(solution.recipe_arn)
    staging = ctx.artifacts.staging_dir()
    started = time.monotonic()
    try:
        outcome = await ctx.worker.run(
            source,
            recipe,
            config.get("algorithmHyperParameters"),
            solution.perform_hpo,
            ctx.settings.TRAINING_SEED,
            str(staging),
        )
    except ValueError as exc:
        ctx.metrics.trainings.labels(recipe, "CREATE FAILED").inc()
        raise StepFailed(str(exc)) from None
    except RuntimeError as exc:
        ctx.metrics.trainings.labels(recipe, "CREATE FAILED").inc()
        raise StepFailed(f"Training failed: {exc}") from None
    key = f"solution-versions/{name_of(solution.arn)}/{name_of(arn)}"
    await ctx.artifacts.publish(staging, key)
    ctx.metrics.trainings.labels(recipe, "ACTIVE").inc()
    ctx.metrics.training_seconds.labels(recipe).observe(time.monotonic() - started)
    await set_status(
        sessionmaker=ctx.sessionmaker,
        model=SolutionVersion,
        arn=arn,
        status=lifecycle.IN_PROGRESS,
        metrics=json.dumps(outcome.metrics),
        tuned_hyperparameters=json.dumps(outcome.tuned_hyperparameters),
        training_hours=round(outcome.training_seconds / 3600, 6),
        artifact_key=key,
    )


def resume(ctx: EngineContext, arn: str) -> None:
    ctx.spawn(arn, lifecycle.create(ctx, SolutionVersion, arn, lambda: _train(ctx, arn)))


async def version_recipe(
    session: Any, version_arn: str
) -> tuple[SolutionVersion, Solution, str, str]:
    """An ACTIVE solution version, its solution, recipe name and recipe type."""
    version = await get_resource(session=session, model=SolutionVersion, arn=version_arn)
    require_active(version, "solution version")
    solution = await session.get(Solution, version.solution_arn)
    if solution is None or solution.recipe_arn is None:
        raise NotFound.arn(version.solution_arn)
    recipe = trained_recipe(solution.recipe_arn)
    return version, solution, recipe, RECIPES[recipe].recipe_type


async def create_solution_version(ctx: EngineContext, body: dict[str, Any]) -> dict[str, Any]:
    solution_arn, name = body["solutionArn"], body.get("name")
    mode = body.get("trainingMode") or "FULL"
    if mode == "AUTOTRAIN":
        # AWS sets it on the versions automatic training creates; the engine runs none.
        raise InvalidInput(
            "trainingMode AUTOTRAIN is not supported by this engine: it does not train "
            "automatically; use FULL or UPDATE."
        )
    async with ctx.sessionmaker() as session:
        solution = await get_resource(session=session, model=Solution, arn=solution_arn)
        require_active(solution, "solution")
        running = (
            await session.execute(
                select(SolutionVersion.arn).where(
                    SolutionVersion.solution_arn == solution_arn,
                    SolutionVersion.status.in_(RUNNING),
                )
            )
        ).first()
        if running:
            raise InUse(f"Solution {solution_arn} is already training version {running[0]}.")
        arn = ctx.arns.solution_version(solution_arn)
        t = now()
        session.add(
            SolutionVersion(
                arn=arn,
                name=name or name_of(solution_arn),
                solution_arn=solution_arn,
                training_mode=mode,
                created=t,
                updated=t,
            )
        )
        await session.commit()
    resume(ctx, arn)
    return {"solutionVersionArn": arn}


async def describe_solution_version(ctx: EngineContext, body: dict[str, Any]) -> dict[str, Any]:
    arn = body["solutionVersionArn"]
    async with ctx.sessionmaker() as session:
        row = await get_resource(session=session, model=SolutionVersion, arn=arn)
        solution = await session.get(Solution, row.solution_arn)
    assert solution is not None
    out = {
        **summary(row),
        "name": row.name,
        "solutionArn": row.solution_arn,
        "performHPO": solution.perform_hpo,
        "performAutoML": solution.perform_automl,
        "performIncrementalUpdate": solution.perform_incremental_update,
        "recipeArn": solution.recipe_arn,
        "datasetGroupArn": solution.dataset_group_arn,
        "solutionConfig": json.loads(solution.solution_config),
        "trainingHours": row.training_hours,
        "eventType": solution.event_type,
    }
    if row.tuned_hyperparameters is not None:
        out["tunedHPOParams"] = {"algorithmHyperParameters": json.loads(row.tuned_hyperparameters)}
    return {"solutionVersion": drop_none(out)}


async def list_solution_versions(ctx: EngineContext, body: dict[str, Any]) -> dict[str, Any]:
    solution_arn = body.get("solutionArn")
    where = {"solution_arn": solution_arn} if solution_arn else {}
    async with ctx.sessionmaker() as session:
        if solution_arn:
            await get_resource(session=session, model=Solution, arn=solution_arn)
        rows, token = await list_page(
            session=session,
            model=SolutionVersion,
            max_results=body.get("maxResults") or validate.DEFAULT_MAX_RESULTS,
            next_token=body.get("nextToken"),
            **where,
        )
    return drop_none({"solutionVersions": [summary(r) for r in rows], "nextToken": token})


async def _finish_stop(ctx: EngineContext, arn: str) -> None:
    await asyncio.sleep(ctx.settings.STATUS_STEP_SECONDS)
    await set_status(
        sessionmaker=ctx.sessionmaker,
        model=SolutionVersion,
        arn=arn,
        status=lifecycle.STOPPED,
        failure_reason="Stopped by StopSolutionVersionCreation.",
    )


async def stop_solution_version_creation(
    ctx: EngineContext, body: dict[str, Any]
) -> dict[str, Any]:
    arn = body["solutionVersionArn"]
    async with ctx.sessionmaker() as session:
        row = await get_resource(session=session, model=SolutionVersion, arn=arn)
        if row.status not in (lifecycle.PENDING, lifecycle.IN_PROGRESS):
            raise InUse(f"Solution version {arn} cannot be stopped in status {row.status}.")
        row.status, row.updated = lifecycle.STOPPING, now()
        await session.commit()
    task = ctx.tasks.get(arn)
    if task is not None:
        task.cancel()  # a run already in the worker finishes there; its result is dropped
    ctx.spawn(arn, _finish_stop(ctx, arn))
    return {}


async def get_solution_metrics(ctx: EngineContext, body: dict[str, Any]) -> dict[str, Any]:
    arn = body["solutionVersionArn"]
    async with ctx.sessionmaker() as session:
        row = await get_resource(session=session, model=SolutionVersion, arn=arn)
    require_active(row, "solution version")
    if row.metrics is None:
        raise InvalidInput(f"Solution version {arn} has no metrics.")
    return {"solutionVersionArn": arn, "metrics": json.loads(row.metrics)}


OPERATIONS = {
    "CreateSolutionVersion": create_solution_version,
    "DescribeSolutionVersion": describe_solution_version,
    "ListSolutionVersions": list_solution_versions,
    "StopSolutionVersionCreation": stop_solution_version_creation,
    "GetSolutionMetrics": get_solution_metrics,
}
