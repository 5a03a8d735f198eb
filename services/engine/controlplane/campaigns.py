"""CreateCampaign, DescribeCampaign, ListCampaigns, UpdateCampaign, DeleteCampaign.

A campaign serves one solution version. UpdateCampaign loads the new model while the
old one keeps serving, then swaps them in one assignment: no gap in serving.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from services.engine import lifecycle
from services.engine.controlplane.common import (
    drop_none,
    now,
    require_active,
    require_final,
    stamps,
)
from services.engine.controlplane.solution_versions import version_recipe
from services.engine.crud import exists, get_resource, list_page
from services.engine.lifecycle import StepFailed
from services.engine.models import Campaign, SolutionVersion
from services.engine.wire import validate
from services.engine.wire.errors import AlreadyExists, InUse, InvalidInput

if TYPE_CHECKING:
    from services.engine.context import EngineContext

# minProvisionedTPS is accepted only as 1 and campaignConfig only with its members at
# their defaults (wire/coverage.py): both are stored and returned as AWS does.
DEFAULT_TPS = 1


def summary(row: Campaign) -> dict[str, Any]:
    return drop_none(
        {
            "name": row.name,
            "campaignArn": row.arn,
            "status": row.status,
            "failureReason": row.failure_reason,
            **stamps(row),
        }
    )


async def _deploy(ctx: EngineContext, arn: str, version_arn: str) -> None:
    try:
        await ctx.serving.deploy(arn, version_arn)
    except FileNotFoundError as exc:
        raise StepFailed(
            f"The model of solution version {version_arn} cannot be loaded: {exc}"
        ) from None


def resume(ctx: EngineContext, arn: str, version_arn: str) -> None:
    ctx.spawn(arn, lifecycle.create(ctx, Campaign, arn, lambda: _deploy(ctx, arn, version_arn)))


def resume_delete(ctx: EngineContext, arn: str) -> None:
    async def undeploy() -> None:
        ctx.serving.undeploy(arn)

    ctx.spawn(arn, lifecycle.delete(ctx, Campaign, arn, undeploy))


async def _save_update(ctx: EngineContext, arn: str, **changes: Any) -> None:
    async with ctx.sessionmaker() as session:
        row = await session.get(Campaign, arn)
        if row is None or row.latest_update is None:
            return
        update = {**json.loads(row.latest_update), **changes, "lastUpdatedDateTime": now()}
        row.latest_update = json.dumps(update)
        if update["status"] == lifecycle.ACTIVE:
            row.solution_version_arn = update["solutionVersionArn"]
            row.min_provisioned_tps = update["minProvisionedTPS"]
            row.campaign_config = json.dumps(update.get("campaignConfig", {}))
            row.updated = now()
        await session.commit()


async def _run_update(ctx: EngineContext, arn: str, version_arn: str) -> None:
    step = ctx.settings.STATUS_STEP_SECONDS
    await asyncio.sleep(step)
    await _save_update(ctx, arn, status=lifecycle.IN_PROGRESS)
    await asyncio.sleep(step)
    try:
        await ctx.serving.deploy(arn, version_arn)  # the old model serves until this swap
    except Exception as exc:
        await _save_update(
            ctx, arn, status=lifecycle.FAILED, failureReason=f"Cannot load the new model: {exc}"
        )
        return
    await _save_update(ctx, arn, status=lifecycle.ACTIVE)


def resume_update(ctx: EngineContext, arn: str, version_arn: str) -> None:
    ctx.spawn(arn, _run_update(ctx, arn, version_arn))


async def _active_version(session: Any, arn: str) -> SolutionVersion:
    version, _, recipe, recipe_type = await version_recipe(session, arn)
    if recipe_type == "USER_SEGMENTATION":  # as on AWS: segments come from batch jobs only
        raise InvalidInput(
            f"Solution version {arn} was trained with {recipe} (USER_SEGMENTATION), which "
            "cannot be deployed: use CreateBatchSegmentJob."
        )
    return version


async def create_campaign(ctx: EngineContext, body: dict[str, Any]) -> dict[str, Any]:
    name, version_arn = body["name"], body["solutionVersionArn"]
    tps = body.get("minProvisionedTPS") or DEFAULT_TPS
    config = body.get("campaignConfig") or {}
    arn = ctx.arns.campaign(name)
    async with ctx.sessionmaker() as session:
        await _active_version(session, version_arn)
        if await exists(session=session, model=Campaign, arn=arn):
            raise AlreadyExists(f"Campaign {arn} already exists.")
        t = now()
        session.add(
            Campaign(
                arn=arn,
                name=name,
                solution_version_arn=version_arn,
                min_provisioned_tps=tps,
                campaign_config=json.dumps(config),
                created=t,
                updated=t,
            )
        )
        await session.commit()
    resume(ctx, arn, version_arn)
    return {"campaignArn": arn}


async def describe_campaign(ctx: EngineContext, body: dict[str, Any]) -> dict[str, Any]:
    arn = body["campaignArn"]
    async with ctx.sessionmaker() as session:
        row = await get_resource(session=session, model=Campaign, arn=arn)
    out: dict[str, Any] = {
        **summary(row),
        "solutionVersionArn": row.solution_version_arn,
        "minProvisionedTPS": row.min_provisioned_tps,
        "campaignConfig": json.loads(row.campaign_config),
    }
    if row.latest_update:
        out["latestCampaignUpdate"] = drop_none(json.loads(row.latest_update))
    return {"campaign": out}


async def list_campaigns(ctx: EngineContext, body: dict[str, Any]) -> dict[str, Any]:
    solution_arn = body.get("solutionArn")
    async with ctx.sessionmaker() as session:
        conditions = []
        if solution_arn:
            versions = select(SolutionVersion.arn).where(
                SolutionVersion.solution_arn == solution_arn
            )
            conditions.append(Campaign.solution_version_arn.in_(versions))
        rows, token = await list_page(
            session=session,
            model=Campaign,
            max_results=body.get("maxResults") or validate.DEFAULT_MAX_RESULTS,
            next_token=body.get("nextToken"),
            conditions=conditions,
        )
    return drop_none({"campaigns": [summary(r) for r in rows], "nextToken": token})


async def update_campaign(ctx: EngineContext, body: dict[str, Any]) -> dict[str, Any]:
    arn = body["campaignArn"]
    version_arn = body.get("solutionVersionArn")
    config_given = body.get("campaignConfig")
    async with ctx.sessionmaker() as session:
        row = await get_resource(session=session, model=Campaign, arn=arn)
        require_active(row, "campaign")
        if row.latest_update and json.loads(row.latest_update)["status"] in (
            lifecycle.PENDING,
            lifecycle.IN_PROGRESS,
        ):
            raise InUse(f"Campaign {arn} is already being updated.")
        version_arn = version_arn or row.solution_version_arn
        await _active_version(session, version_arn)
        tps = body.get("minProvisionedTPS") or row.min_provisioned_tps
        config = config_given if config_given is not None else json.loads(row.campaign_config)
        t = now()
        row.latest_update = json.dumps(
            {
                "solutionVersionArn": version_arn,
                "minProvisionedTPS": tps,
                "campaignConfig": config,
                "status": lifecycle.PENDING,
                "creationDateTime": t,
                "lastUpdatedDateTime": t,
            }
        )
        row.updated = t
        await session.commit()
    resume_update(ctx, arn, version_arn)
    return {"campaignArn": arn}


async def delete_campaign(ctx: EngineContext, body: dict[str, Any]) -> dict[str, Any]:
    arn = body["campaignArn"]
    async with ctx.sessionmaker() as session:
        row = await get_resource(session=session, model=Campaign, arn=arn)
        require_final(row, "campaign")
        row.status, row.updated = lifecycle.DELETE_PENDING, now()
        await session.commit()
    resume_delete(ctx, arn)
    return {}


OPERATIONS = {
    "CreateCampaign": create_campaign,
    "DescribeCampaign": describe_campaign,
    "ListCampaigns": list_campaigns,
    "UpdateCampaign": update_campaign,
    "DeleteCampaign": delete_campaign,
}
