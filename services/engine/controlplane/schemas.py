"""CreateSchema, DescribeSchema, ListSchemas, DeleteSchema (schemas have no status)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from services.engine.avro import parse_schema
from services.engine.controlplane.common import drop_none, list_response, now, stamps
from services.engine.crud import count, exists, get_resource
from services.engine.models import Dataset, Schema
from services.engine.wire.errors import AlreadyExists, InUse, InvalidInput

if TYPE_CHECKING:
    from services.engine.context import EngineContext


def summary(row: Schema) -> dict[str, Any]:
    return drop_none({"name": row.name, "schemaArn": row.arn, "domain": row.domain, **stamps(row)})


async def create_schema(ctx: EngineContext, body: dict[str, Any]) -> dict[str, Any]:
    name, text = body["name"], body["schema"]
    try:
        parse_schema(text)
    except ValueError as exc:
        raise InvalidInput(f"Invalid schema: {exc}.") from None
    arn = ctx.arns.schema(name)
    async with ctx.sessionmaker() as session:
        if await exists(session=session, model=Schema, arn=arn):
            raise AlreadyExists(f"Schema {arn} already exists.")
        t = now()
        session.add(
            Schema(
                arn=arn,
                name=name,
                definition=text,
                status="ACTIVE",
                created=t,
                updated=t,
            )
        )
        await session.commit()
    return {"schemaArn": arn}


async def describe_schema(ctx: EngineContext, body: dict[str, Any]) -> dict[str, Any]:
    arn = body["schemaArn"]
    async with ctx.sessionmaker() as session:
        row = await get_resource(session=session, model=Schema, arn=arn)
    return {"schema": {**summary(row), "schema": row.definition}}


async def list_schemas(ctx: EngineContext, body: dict[str, Any]) -> dict[str, Any]:
    return await list_response(
        ctx,
        body,
        model=Schema,
        key="schemas",
        summarize=summary,
    )


async def delete_schema(ctx: EngineContext, body: dict[str, Any]) -> dict[str, Any]:
    arn = body["schemaArn"]
    async with ctx.sessionmaker() as session:
        row = await get_resource(session=session, model=Schema, arn=arn)
        if await count(session=session, model=Dataset, schema_arn=arn):
            raise InUse(f"Schema {arn} is used by a dataset; delete the dataset first.")
        await session.delete(row)
        await session.commit()
    return {}


OPERATIONS = {
    "CreateSchema": create_schema,
    "DescribeSchema": describe_schema,
    "ListSchemas": list_schemas,
    "DeleteSchema": delete_schema,
}
