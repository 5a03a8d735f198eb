"""CreateDatasetImportJob, DescribeDatasetImportJob, ListDatasetImportJobs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from services.engine import import_roots, lifecycle
from services.engine.controlplane.common import (
    drop_none,
    list_response,
    now,
    require_active,
    stamps,
)
from services.engine.crud import exists, get_resource
from services.engine.importer import run_import
from services.engine.models import Dataset, DatasetImportJob
from services.engine.wire import validate
from services.engine.wire.errors import AlreadyExists, InvalidInput

if TYPE_CHECKING:
    from services.engine.context import EngineContext


def summary(row: DatasetImportJob) -> dict[str, Any]:
    return drop_none(
        {
            "datasetImportJobArn": row.arn,
            "jobName": row.name,
            "status": row.status,
            "failureReason": row.failure_reason,
            "importMode": row.import_mode,
            **stamps(row),
        }
    )


def resume(ctx: EngineContext, arn: str) -> None:
    ctx.spawn(arn, lifecycle.create(ctx, DatasetImportJob, arn, lambda: run_import(ctx, arn)))


async def create_dataset_import_job(ctx: EngineContext, body: dict[str, Any]) -> dict[str, Any]:
    name, dataset_arn = body["jobName"], body["datasetArn"]
    # The model leaves dataLocation optional (other data sources may come); the engine has
    # no import without it.
    location = validate.required(body["dataSource"], "dataLocation")
    if location.startswith("file://"):
        # Refused here, before anything is stored or read (services/engine/import_roots.py).
        try:
            import_roots.check(location, ctx.settings.IMPORT_ROOTS)
        except import_roots.OutsideRoots as exc:
            raise InvalidInput(str(exc)) from None
    role_arn = body.get("roleArn")
    mode = body.get("importMode") or "FULL"
    arn = ctx.arns.import_job(name)
    async with ctx.sessionmaker() as session:
        dataset = await get_resource(session=session, model=Dataset, arn=dataset_arn)
        require_active(dataset, "dataset")
        if await exists(session=session, model=DatasetImportJob, arn=arn):
            raise AlreadyExists(f"Dataset import job {arn} already exists.")
        t = now()
        session.add(
            DatasetImportJob(
                arn=arn,
                name=name,
                dataset_arn=dataset_arn,
                data_location=location,
                role_arn=role_arn,
                import_mode=mode,
                publish_attribution=False,  # only false is accepted (coverage.py)
                created=t,
                updated=t,
            )
        )
        await session.commit()
    resume(ctx, arn)
    return {"datasetImportJobArn": arn}


async def describe_dataset_import_job(ctx: EngineContext, body: dict[str, Any]) -> dict[str, Any]:
    arn = body["datasetImportJobArn"]
    async with ctx.sessionmaker() as session:
        row = await get_resource(session=session, model=DatasetImportJob, arn=arn)
    return {
        "datasetImportJob": drop_none(
            {
                **summary(row),
                "datasetArn": row.dataset_arn,
                "dataSource": {"dataLocation": row.data_location},
                "roleArn": row.role_arn,
                "publishAttributionMetricsToS3": row.publish_attribution,
            }
        )
    }


async def list_dataset_import_jobs(ctx: EngineContext, body: dict[str, Any]) -> dict[str, Any]:
    return await list_response(
        ctx,
        body,
        model=DatasetImportJob,
        key="datasetImportJobs",
        summarize=summary,
        parent=("datasetArn", "dataset_arn"),
    )


OPERATIONS = {
    "CreateDatasetImportJob": create_dataset_import_job,
    "DescribeDatasetImportJob": describe_dataset_import_job,
    "ListDatasetImportJobs": list_dataset_import_jobs,
}
