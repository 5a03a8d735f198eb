"""CreateFilter, DescribeFilter, ListFilters (answers `Filters`), DeleteFilter."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from services.engine import lifecycle
from services.engine.controlplane.common import (
    drop_none,
    list_response,
    now,
    require_active,
    require_final,
    stamps,
)
from services.engine.crud import count, exists, get_resource
from services.engine.models import DatasetGroup, Filter
from services.engine.runtime.filter_parser import FilterSyntaxError, parse_filter
from services.engine.wire.errors import AlreadyExists, InvalidInput, LimitExceeded

if TYPE_CHECKING:
    from services.engine.context import EngineContext

MAX_FILTERS_PER_GROUP = 10


def summary(row: Filter) -> dict[str, Any]:
    return drop_none(
        {
            "name": row.name,
            "filterArn": row.arn,
            "datasetGroupArn": row.dataset_group_arn,
            "status": row.status,
            "failureReason": row.failure_reason,
            **stamps(row),
        }
    )


def resume(ctx: EngineContext, arn: str) -> None:
    ctx.spawn(arn, lifecycle.create(ctx, Filter, arn))


def resume_delete(ctx: EngineContext, arn: str) -> None:
    async def forget() -> None:
        ctx.serving.filters.pop(arn, None)

    ctx.spawn(arn, lifecycle.delete(ctx, Filter, arn, forget))


async def create_filter(ctx: EngineContext, body: dict[str, Any]) -> dict[str, Any]:
    name, group_arn, expression = body["name"], body["datasetGroupArn"], body["filterExpression"]
    try:
        parse_filter(expression)
    except FilterSyntaxError as exc:
        raise InvalidInput(f"Invalid filter expression: {exc}.") from None
    arn = ctx.arns.filter(name)
    async with ctx.sessionmaker() as session:
        group = await get_resource(session=session, model=DatasetGroup, arn=group_arn)
        require_active(group, "dataset group")
        if await exists(session=session, model=Filter, arn=arn):
            raise AlreadyExists(f"Filter {arn} already exists.")
        if (
            await count(session=session, model=Filter, dataset_group_arn=group_arn)
            >= MAX_FILTERS_PER_GROUP
        ):
            raise LimitExceeded(
                f"Dataset group {group_arn} already has {MAX_FILTERS_PER_GROUP} filters."
            )
        t = now()
        session.add(
            Filter(
                arn=arn,
                name=name,
                dataset_group_arn=group_arn,
                expression=expression,
                created=t,
                updated=t,
            )
        )
        await session.commit()
    resume(ctx, arn)
    return {"filterArn": arn}


async def describe_filter(ctx: EngineContext, body: dict[str, Any]) -> dict[str, Any]:
    arn = body["filterArn"]
    async with ctx.sessionmaker() as session:
        row = await get_resource(session=session, model=Filter, arn=arn)
    return {"filter": {**summary(row), "filterExpression": row.expression}}


async def list_filters(ctx: EngineContext, body: dict[str, Any]) -> dict[str, Any]:
    return await list_response(
        ctx,
        body,
        model=Filter,
        key="Filters",
        summarize=summary,
        parent=("datasetGroupArn", "dataset_group_arn"),
    )


async def delete_filter(ctx: EngineContext, body: dict[str, Any]) -> dict[str, Any]:
    arn = body["filterArn"]
    async with ctx.sessionmaker() as session:
        row = await get_resource(session=session, model=Filter, arn=arn)
        require_final(row, "filter")
        row.status, row.updated = lifecycle.DELETE_PENDING, now()
        await session.commit()
    ctx.serving.filters.pop(arn, None)
    resume_delete(ctx, arn)
    return {}


OPERATIONS = {
    "CreateFilter": create_filter,
    "DescribeFilter": describe_filter,
    "ListFilters": list_filters,
    "DeleteFilter": delete_filter,
}
