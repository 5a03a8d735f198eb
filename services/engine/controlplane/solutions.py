"""CreateSolution, DescribeSolution, ListSolutions, DeleteSolution."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete as sql_delete
from sqlalchemy import select

from services.engine import lifecycle
from services.engine.controlplane.common import (
    drop_none,
    list_response,
    now,
    require_active,
    require_final,
    stamps,
)
from services.engine.controlplane.recipes import recipe_from_arn
from services.engine.crud import exists, get_resource
from services.engine.models import Campaign, DatasetGroup, Solution, SolutionVersion
from services.engine.wire.errors import AlreadyExists, InUse, InvalidInput

if TYPE_CHECKING:
    from services.engine.context import EngineContext


def summary(row: Solution) -> dict[str, Any]:
    return drop_none(
        {
            "name": row.name,
            "solutionArn": row.arn,
            "status": row.status,
            "recipeArn": row.recipe_arn,
            **stamps(row),
        }
    )


def _check_config(config: dict[str, Any] | None) -> dict[str, Any]:
    """What the model cannot say of a solutionConfig already walked (wire/model.py)."""
    if config is None:
        return {}
    threshold = config.get("eventValueThreshold")
    if threshold is not None:
        try:
            float(threshold)
        except ValueError:
            raise InvalidInput(
                f"solutionConfig.eventValueThreshold must be a number, got {threshold!r}."
            ) from None
    return config


def resume(ctx: EngineContext, arn: str) -> None:
    ctx.spawn(arn, lifecycle.create(ctx, Solution, arn))


def resume_delete(ctx: EngineContext, arn: str) -> None:
    async def remove_versions() -> None:
        async with ctx.sessionmaker() as session:
            keys = (
                (
                    await session.execute(
                        select(SolutionVersion.artifact_key).where(
                            SolutionVersion.solution_arn == arn
                        )
                    )
                )
                .scalars()
                .all()
            )
            await session.execute(
                sql_delete(SolutionVersion).where(SolutionVersion.solution_arn == arn)
            )
            await session.commit()
        for key in keys:
            if key:
                await ctx.artifacts.delete(key)

    ctx.spawn(arn, lifecycle.delete(ctx, Solution, arn, remove_versions))


async def create_solution(ctx: EngineContext, body: dict[str, Any]) -> dict[str, Any]:
    name, group_arn = body["name"], body["datasetGroupArn"]
    hpo = body.get("performHPO") is True
    event_type = body.get("eventType")
    config = _check_config(body.get("solutionConfig"))
    # performAutoML is accepted only as false (wire/coverage.py), so a recipe is needed.
    recipe = body.get("recipeArn")
    if recipe is None:
        raise InvalidInput(
            "recipeArn is required: this engine does not run AutoML (performAutoML = true)."
        )
    _, found = recipe_from_arn(recipe)
    try:
        found.parse_hyperparameters(config.get("algorithmHyperParameters"))
    except ValueError as exc:
        raise InvalidInput(f"Invalid algorithmHyperParameters: {exc}") from None
    arn = ctx.arns.solution(name)
    async with ctx.sessionmaker() as session:
        group = await get_resource(session=session, model=DatasetGroup, arn=group_arn)
        require_active(group, "dataset group")
        if await exists(session=session, model=Solution, arn=arn):
            raise AlreadyExists(f"Solution {arn} already exists.")
        t = now()
        session.add(
            Solution(
                arn=arn,
                name=name,
                dataset_group_arn=group_arn,
                recipe_arn=recipe,
                perform_hpo=hpo,
                # Accepted only as false (wire/coverage.py): what the engine does.
                perform_automl=False,
                perform_auto_training=False,
                perform_incremental_update=False,
                event_type=event_type,
                solution_config=json.dumps(config),
                created=t,
                updated=t,
            )
        )
        await session.commit()
    resume(ctx, arn)
    return {"solutionArn": arn}


async def describe_solution(ctx: EngineContext, body: dict[str, Any]) -> dict[str, Any]:
    arn = body["solutionArn"]
    async with ctx.sessionmaker() as session:
        row = await get_resource(session=session, model=Solution, arn=arn)
        latest = (
            await session.execute(
                select(SolutionVersion)
                .where(SolutionVersion.solution_arn == arn)
                .order_by(SolutionVersion.created.desc())
                .limit(1)
            )
        ).scalar_one_or_none()
    out: dict[str, Any] = {
        **summary(row),
        "performHPO": row.perform_hpo,
        "performAutoML": row.perform_automl,
        "performAutoTraining": row.perform_auto_training,
        "performIncrementalUpdate": row.perform_incremental_update,
        "datasetGroupArn": row.dataset_group_arn,
        "solutionConfig": json.loads(row.solution_config),
    }
    if row.event_type:
        out["eventType"] = row.event_type
    if latest is not None:
        out["latestSolutionVersion"] = drop_none(
            {
                "solutionVersionArn": latest.arn,
                "status": latest.status,
                "trainingMode": latest.training_mode,
                "trainingType": "MANUAL",
                "failureReason": latest.failure_reason,
                **stamps(latest),
            }
        )
    return {"solution": out}


async def list_solutions(ctx: EngineContext, body: dict[str, Any]) -> dict[str, Any]:
    return await list_response(
        ctx,
        body,
        model=Solution,
        key="solutions",
        summarize=summary,
        parent=("datasetGroupArn", "dataset_group_arn"),
    )


async def delete_solution(ctx: EngineContext, body: dict[str, Any]) -> dict[str, Any]:
    arn = body["solutionArn"]
    async with ctx.sessionmaker() as session:
        row = await get_resource(session=session, model=Solution, arn=arn)
        require_final(row, "solution")
        versions = (
            (
                await session.execute(
                    select(SolutionVersion).where(SolutionVersion.solution_arn == arn)
                )
            )
            .scalars()
            .all()
        )
        for version in versions:
            require_final(version, "solution version")
        if versions:
            used = (
                await session.execute(
                    select(Campaign.arn).where(
                        Campaign.solution_version_arn.in_([v.arn for v in versions])
                    )
                )
            ).first()
            if used:
                raise InUse(
                    f"Solution {arn} has a version deployed by campaign {used[0]}; "
                    "delete the campaign first."
                )
        row.status, row.updated = lifecycle.DELETE_PENDING, now()
        await session.commit()
    resume_delete(ctx, arn)
    return {}


OPERATIONS = {
    "CreateSolution": create_solution,
    "DescribeSolution": describe_solution,
    "ListSolutions": list_solutions,
    "DeleteSolution": delete_solution,
}
