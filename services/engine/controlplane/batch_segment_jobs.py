"""CreateBatchSegmentJob, DescribeBatchSegmentJob, ListBatchSegmentJobs.

A job of a USER_SEGMENTATION solution version (aws-item-affinity: lines `{"itemId": ...}`;
aws-item-attribute-affinity: lines `{"itemAttributes": "ITEMS.GENRES = \\"Comedy\\""}`)
writes for each line the `numResults` users of the dataset group most likely to interact
with the item(s): `{"input": ..., "output": {"usersList": [...]}, "error": null}`. It runs
in the training worker pool (`services/engine/batch.py`) with the usual lifecycle.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from services.engine import batch, lifecycle
from services.engine.controlplane.batch_inference_jobs import (
    locations,
    num_results,
    paths,
    run,
    version_recipe,
)
from services.engine.controlplane.common import drop_none, list_response, now, stamps
from services.engine.crud import exists, get_resource
from services.engine.models import BatchSegmentJob
from services.engine.wire.errors import AlreadyExists, InvalidInput

if TYPE_CHECKING:
    from services.engine.context import EngineContext

MAX_USERS = 5_000_000  # AWS's largest segment


def summary(row: BatchSegmentJob) -> dict[str, Any]:
    return drop_none(
        {
            "batchSegmentJobArn": row.arn,
            "jobName": row.name,
            "status": row.status,
            "failureReason": row.failure_reason,
            "solutionVersionArn": row.solution_version_arn,
            **stamps(row),
        }
    )


def resume(ctx: EngineContext, arn: str) -> None:
    work = lambda: run(ctx, BatchSegmentJob, arn, batch.SEGMENT)  # noqa: E731
    ctx.spawn(arn, lifecycle.create(ctx, BatchSegmentJob, arn, work))


async def create_batch_segment_job(ctx: EngineContext, body: dict[str, Any]) -> dict[str, Any]:
    name, version_arn = body["jobName"], body["solutionVersionArn"]
    count = num_results(body, MAX_USERS)
    # Read in batch_inference_jobs.locations: "jobInput" / "s3DataSource" / "path" and
    # "jobOutput" / "s3DataDestination" / "path".
    input_path, output_path = locations(body, ctx.settings.IMPORT_ROOTS)
    arn = ctx.arns.batch_segment_job(name)
    async with ctx.sessionmaker() as session:
        _, _, recipe, recipe_type = await version_recipe(session, version_arn)
        if recipe_type != "USER_SEGMENTATION":
            raise InvalidInput(
                f"Solution version {version_arn} was trained with {recipe} ({recipe_type}): a "
                "batch segment job needs aws-item-affinity or aws-item-attribute-affinity."
            )
        if await exists(session=session, model=BatchSegmentJob, arn=arn):
            raise AlreadyExists(f"Batch segment job {arn} already exists.")
        t = now()
        session.add(
            BatchSegmentJob(
                arn=arn,
                name=name,
                solution_version_arn=version_arn,
                num_results=count,
                input_path=input_path,
                output_path=output_path,
                role_arn=body["roleArn"],
                created=t,
                updated=t,
            )
        )
        await session.commit()
    resume(ctx, arn)
    return {"batchSegmentJobArn": arn}


async def describe_batch_segment_job(ctx: EngineContext, body: dict[str, Any]) -> dict[str, Any]:
    arn = body["batchSegmentJobArn"]
    async with ctx.sessionmaker() as session:
        row = await get_resource(session=session, model=BatchSegmentJob, arn=arn)
    out = {**summary(row), "numResults": row.num_results, **paths(row), "roleArn": row.role_arn}
    return {"batchSegmentJob": drop_none(out)}


async def list_batch_segment_jobs(ctx: EngineContext, body: dict[str, Any]) -> dict[str, Any]:
    return await list_response(
        ctx,
        body,
        model=BatchSegmentJob,
        key="batchSegmentJobs",
        summarize=summary,
        parent=("solutionVersionArn", "solution_version_arn"),
    )


OPERATIONS = {
    "CreateBatchSegmentJob": create_batch_segment_job,
    "DescribeBatchSegmentJob": describe_batch_segment_job,
    "ListBatchSegmentJobs": list_batch_segment_jobs,
}
