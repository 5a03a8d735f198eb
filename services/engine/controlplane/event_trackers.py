"""CreateEventTracker, DescribeEventTracker, ListEventTrackers, DeleteEventTracker."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from services.engine import lifecycle
from services.engine.arns import new_tracking_id
from services.engine.controlplane.common import (
    drop_none,
    list_response,
    now,
    require_active,
    require_final,
    stamps,
)
from services.engine.crud import count, get_resource
from services.engine.models import DatasetGroup, EventTracker
from services.engine.wire.errors import AlreadyExists

if TYPE_CHECKING:
    from services.engine.context import EngineContext


def summary(row: EventTracker) -> dict[str, Any]:
    return {"name": row.name, "eventTrackerArn": row.arn, "status": row.status, **stamps(row)}


def resume(ctx: EngineContext, arn: str) -> None:
    ctx.spawn(arn, lifecycle.create(ctx, EventTracker, arn))


def resume_delete(ctx: EngineContext, arn: str) -> None:
    ctx.spawn(arn, lifecycle.delete(ctx, EventTracker, arn))


async def create_event_tracker(ctx: EngineContext, body: dict[str, Any]) -> dict[str, Any]:
    name, group_arn = body["name"], body["datasetGroupArn"]
    async with ctx.sessionmaker() as session:
        group = await get_resource(session=session, model=DatasetGroup, arn=group_arn)
        require_active(group, "dataset group")
        if await count(session=session, model=EventTracker, dataset_group_arn=group_arn):
            raise AlreadyExists(
                f"Dataset group {group_arn} already has an event tracker (only one is allowed)."
            )
        arn, tracking_id, t = ctx.arns.event_tracker(), new_tracking_id(), now()
        session.add(
            EventTracker(
                arn=arn,
                name=name,
                dataset_group_arn=group_arn,
                tracking_id=tracking_id,
                account_id=ctx.settings.ACCOUNT_ID,
                created=t,
                updated=t,
            )
        )
        await session.commit()
    resume(ctx, arn)
    return {"eventTrackerArn": arn, "trackingId": tracking_id}


async def describe_event_tracker(ctx: EngineContext, body: dict[str, Any]) -> dict[str, Any]:
    arn = body["eventTrackerArn"]
    async with ctx.sessionmaker() as session:
        row = await get_resource(session=session, model=EventTracker, arn=arn)
    return {
        "eventTracker": drop_none(
            {
                **summary(row),
                "accountId": row.account_id,
                "trackingId": row.tracking_id,
                "datasetGroupArn": row.dataset_group_arn,
            }
        )
    }


async def list_event_trackers(ctx: EngineContext, body: dict[str, Any]) -> dict[str, Any]:
    return await list_response(
        ctx,
        body,
        model=EventTracker,
        key="eventTrackers",
        summarize=summary,
        parent=("datasetGroupArn", "dataset_group_arn"),
    )


async def delete_event_tracker(ctx: EngineContext, body: dict[str, Any]) -> dict[str, Any]:
    arn = body["eventTrackerArn"]
    async with ctx.sessionmaker() as session:
        row = await get_resource(session=session, model=EventTracker, arn=arn)
        require_final(row, "event tracker")
        row.status, row.updated = lifecycle.DELETE_PENDING, now()
        await session.commit()
    ctx.serving.trackers.pop(row.tracking_id, None)
    resume_delete(ctx, arn)
    return {}


OPERATIONS = {
    "CreateEventTracker": create_event_tracker,
    "DescribeEventTracker": describe_event_tracker,
    "ListEventTrackers": list_event_trackers,
    "DeleteEventTracker": delete_event_tracker,
}
