"""CreateDataset, DescribeDataset, ListDatasets, DeleteDataset."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete as sql_delete
from sqlalchemy import select

from services.engine import dataset_files, lifecycle
from services.engine.arns import name_of
from services.engine.avro import check_for_dataset, parse_schema
from services.engine.controlplane.common import (
    drop_none,
    list_response,
    now,
    require_active,
    require_final,
    stamps,
)
from services.engine.crud import exists, get_resource
from services.engine.models import (
    Dataset,
    DatasetGroup,
    DatasetImportJob,
    EventTracker,
    Interaction,
    ItemRecord,
    Schema,
    UserRecord,
)
from services.engine.wire import validate
from services.engine.wire.errors import AlreadyExists, InUse, InvalidInput

if TYPE_CHECKING:
    from services.engine.context import EngineContext

# The model sets only a length; AWS also matches this pattern (case-insensitively).
DATASET_TYPE = re.compile(r"^[A-Za-z_]+$")


def summary(row: Dataset) -> dict[str, Any]:
    return {
        "name": row.name,
        "datasetArn": row.arn,
        "datasetType": row.dataset_type,
        "status": row.status,
        **stamps(row),
    }


def resume(ctx: EngineContext, arn: str) -> None:
    ctx.spawn(arn, lifecycle.create(ctx, Dataset, arn))


def resume_delete(ctx: EngineContext, arn: str) -> None:
    async def remove_rows() -> None:
        files: list[str] = []
        async with ctx.sessionmaker() as session:
            row = await session.get(Dataset, arn)
            if row is None:
                return
            # Rows kept in SQL: PutEvents and imports from before Parquet sets.
            model = {"INTERACTIONS": Interaction, "ITEMS": ItemRecord, "USERS": UserRecord}[
                row.dataset_type
            ]
            await session.execute(
                sql_delete(model).where(model.dataset_group_arn == row.dataset_group_arn)
            )
            files = await dataset_files.remove(session, dataset_arn=arn)
            await session.execute(
                sql_delete(DatasetImportJob).where(DatasetImportJob.dataset_arn == arn)
            )
            await session.commit()
        await dataset_files.discard(ctx.artifacts, files)
        await ctx.serving.reload_group(row.dataset_group_arn)

    ctx.spawn(arn, lifecycle.delete(ctx, Dataset, arn, remove_rows))


async def create_dataset(ctx: EngineContext, body: dict[str, Any]) -> dict[str, Any]:
    name, schema_arn, group_arn = body["name"], body["schemaArn"], body["datasetGroupArn"]
    dataset_type = body["datasetType"].upper()
    if not DATASET_TYPE.fullmatch(dataset_type) or dataset_type not in validate.DATASET_TYPES:
        raise InvalidInput(
            f"datasetType {dataset_type} is not valid: use one of "
            f"{', '.join(validate.DATASET_TYPES)}."
        )
    if dataset_type not in validate.SUPPORTED_DATASET_TYPES:
        raise InvalidInput(f"datasetType {dataset_type} is not supported by this engine.")
    async with ctx.sessionmaker() as session:
        group = await get_resource(session=session, model=DatasetGroup, arn=group_arn)
        schema = await get_resource(session=session, model=Schema, arn=schema_arn)
        require_active(group, "dataset group")
        try:
            check_for_dataset(parse_schema(schema.definition), dataset_type)
        except ValueError as exc:
            raise InvalidInput(
                f"Schema {schema_arn} does not fit a {dataset_type} dataset: {exc}."
            ) from None
        arn = ctx.arns.dataset(name_of(group_arn), dataset_type)
        if await exists(session=session, model=Dataset, arn=arn):
            raise AlreadyExists(f"Dataset {arn} already exists.")
        t = now()
        session.add(
            Dataset(
                arn=arn,
                name=name,
                dataset_group_arn=group_arn,
                dataset_type=dataset_type,
                schema_arn=schema_arn,
                created=t,
                updated=t,
            )
        )
        await session.commit()
    resume(ctx, arn)
    return {"datasetArn": arn}


async def describe_dataset(ctx: EngineContext, body: dict[str, Any]) -> dict[str, Any]:
    arn = body["datasetArn"]
    async with ctx.sessionmaker() as session:
        row = await get_resource(session=session, model=Dataset, arn=arn)
        tracker = None
        if row.dataset_type == "INTERACTIONS":
            tracker = (
                await session.execute(
                    select(EventTracker.tracking_id).where(
                        EventTracker.dataset_group_arn == row.dataset_group_arn
                    )
                )
            ).scalar_one_or_none()
    return {
        "dataset": drop_none(
            {
                **summary(row),
                "datasetGroupArn": row.dataset_group_arn,
                "schemaArn": row.schema_arn,
                "trackingId": tracker,
            }
        )
    }


async def list_datasets(ctx: EngineContext, body: dict[str, Any]) -> dict[str, Any]:
    return await list_response(
        ctx,
        body,
        model=Dataset,
        key="datasets",
        summarize=summary,
        parent=("datasetGroupArn", "dataset_group_arn"),
    )


async def delete_dataset(ctx: EngineContext, body: dict[str, Any]) -> dict[str, Any]:
    arn = body["datasetArn"]
    async with ctx.sessionmaker() as session:
        row = await get_resource(session=session, model=Dataset, arn=arn)
        require_final(row, "dataset")
        running = (
            await session.execute(
                select(DatasetImportJob.arn).where(
                    DatasetImportJob.dataset_arn == arn,
                    DatasetImportJob.status.in_((lifecycle.PENDING, lifecycle.IN_PROGRESS)),
                )
            )
        ).first()
        if running:
            raise InUse(f"Dataset {arn} has an import job in progress.")
        row.status, row.updated = lifecycle.DELETE_PENDING, now()
        await session.commit()
    resume_delete(ctx, arn)
    return {}


OPERATIONS = {
    "CreateDataset": create_dataset,
    "DescribeDataset": describe_dataset,
    "ListDatasets": list_datasets,
    "DeleteDataset": delete_dataset,
}
