"""CreateDatasetGroup, DescribeDatasetGroup, ListDatasetGroups, DeleteDatasetGroup."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import delete as sql_delete

from services.engine import dataset_files, lifecycle
from services.engine.controlplane.common import drop_none, list_response, now, require_final, stamps
from services.engine.crud import count, exists, get_resource
from services.engine.models import (
    Dataset,
    DatasetGroup,
    EventTracker,
    Filter,
    Interaction,
    ItemRecord,
    Solution,
    UserRecord,
)
from services.engine.wire.errors import AlreadyExists, InUse

if TYPE_CHECKING:
    from services.engine.context import EngineContext


def summary(row: DatasetGroup) -> dict[str, Any]:
    return drop_none(
        {
            "name": row.name,
            "datasetGroupArn": row.arn,
            "status": row.status,
            "failureReason": row.failure_reason,
            "domain": row.domain,
            **stamps(row),
        }
    )


def resume(ctx: EngineContext, arn: str) -> None:
    ctx.spawn(arn, lifecycle.create(ctx, DatasetGroup, arn))


async def _remove_data(ctx: EngineContext, arn: str) -> None:
    async with ctx.sessionmaker() as session:
        for model in (Interaction, ItemRecord, UserRecord):
            await session.execute(sql_delete(model).where(model.dataset_group_arn == arn))
        files = await dataset_files.remove(session, group_arn=arn)
        await session.commit()
    await dataset_files.discard(ctx.artifacts, files)
    ctx.serving.groups.pop(arn, None)


def resume_delete(ctx: EngineContext, arn: str) -> None:
    ctx.spawn(arn, lifecycle.delete(ctx, DatasetGroup, arn, lambda: _remove_data(ctx, arn)))


async def create_dataset_group(ctx: EngineContext, body: dict[str, Any]) -> dict[str, Any]:
    name, role_arn = body["name"], body.get("roleArn")
    arn = ctx.arns.dataset_group(name)
    async with ctx.sessionmaker() as session:
        if await exists(session=session, model=DatasetGroup, arn=arn):
            raise AlreadyExists(f"Dataset group {arn} already exists.")
        t = now()
        session.add(
            DatasetGroup(
                arn=arn,
                name=name,
                role_arn=role_arn,
                created=t,
                updated=t,
            )
        )
        await session.commit()
    resume(ctx, arn)
    return {"datasetGroupArn": arn}


async def describe_dataset_group(ctx: EngineContext, body: dict[str, Any]) -> dict[str, Any]:
    arn = body["datasetGroupArn"]
    async with ctx.sessionmaker() as session:
        row = await get_resource(session=session, model=DatasetGroup, arn=arn)
    return {
        "datasetGroup": {
            **summary(row),
            **drop_none({"roleArn": row.role_arn, "kmsKeyArn": row.kms_key_arn}),
        }
    }


async def list_dataset_groups(ctx: EngineContext, body: dict[str, Any]) -> dict[str, Any]:
    return await list_response(
        ctx,
        body,
        model=DatasetGroup,
        key="datasetGroups",
        summarize=summary,
    )


async def delete_dataset_group(ctx: EngineContext, body: dict[str, Any]) -> dict[str, Any]:
    arn = body["datasetGroupArn"]
    async with ctx.sessionmaker() as session:
        row = await get_resource(session=session, model=DatasetGroup, arn=arn)
        require_final(row, "dataset group")
        for model, kind in (
            (Dataset, "datasets"),
            (Solution, "solutions"),
            (Filter, "filters"),
            (EventTracker, "event trackers"),
        ):
            if await count(session=session, model=model, dataset_group_arn=arn):
                raise InUse(f"Dataset group {arn} still has {kind}; delete them first.")
        row.status, row.updated = lifecycle.DELETE_PENDING, now()
        await session.commit()
    resume_delete(ctx, arn)
    return {}


OPERATIONS = {
    "CreateDatasetGroup": create_dataset_group,
    "DescribeDatasetGroup": describe_dataset_group,
    "ListDatasetGroups": list_dataset_groups,
    "DeleteDatasetGroup": delete_dataset_group,
}
