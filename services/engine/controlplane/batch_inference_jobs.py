"""CreateBatchInferenceJob, DescribeBatchInferenceJob, ListBatchInferenceJobs.

A job answers a JSON-lines file with a solution version's model, as GetRecommendations
(USER_PERSONALIZATION: `{"userId": ...}`, RELATED_ITEMS: `{"itemId": ...}`) or
GetPersonalizedRanking (`{"userId": ..., "itemList": [...]}`) would, in the training worker
pool (`services/engine/batch.py`), with the usual lifecycle: CREATE PENDING → CREATE
IN_PROGRESS → ACTIVE, or CREATE FAILED with failureReason. The helpers here are shared with
batch_segment_jobs.py.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from services.engine import batch, lifecycle
from services.engine.controlplane.common import (
    drop_none,
    list_response,
    now,
    require_active,
    stamps,
)
from services.engine.controlplane.solution_versions import version_recipe
from services.engine.crud import exists, get_resource
from services.engine.lifecycle import StepFailed
from services.engine.models import BatchInferenceJob, Filter, Solution, SolutionVersion
from services.engine.wire.errors import AlreadyExists, InvalidInput

if TYPE_CHECKING:
    from services.engine.context import EngineContext

DEFAULT_RESULTS = 25
MAX_RESULTS = 500  # as GetRecommendations
MODE = "BATCH_INFERENCE"  # the only batchInferenceJobMode accepted (wire/coverage.py)


def num_results(body: dict[str, Any], maximum: int) -> int:
    """numResults (the model sets no range): 1 to `maximum`, DEFAULT_RESULTS when absent."""
    value = body.get("numResults")
    if value is None:
        return DEFAULT_RESULTS
    if not 1 <= value <= maximum:
        raise InvalidInput(
            f"1 validation error detected: Value '{value}' at 'numResults' failed to satisfy "
            f"constraint: Member must have value between 1 and {maximum}"
        )
    return int(value)


def locations(body: dict[str, Any], roots: list[str]) -> tuple[str, str]:
    """jobInput.s3DataSource.path and jobOutput.s3DataDestination.path, checked."""
    input_path = body["jobInput"]["s3DataSource"]["path"]
    output_path = body["jobOutput"]["s3DataDestination"]["path"]
    try:
        batch.check_locations(input_path=input_path, output_path=output_path, roots=roots)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    return input_path, output_path


def paths(row: Any) -> dict[str, Any]:
    return {
        "jobInput": {"s3DataSource": {"path": row.input_path}},
        "jobOutput": {"s3DataDestination": {"path": row.output_path}},
    }


async def run(ctx: EngineContext, model: Any, arn: str, kind: str) -> None:
    """The work of a batch job's CREATE IN_PROGRESS (both kinds)."""
    async with ctx.sessionmaker() as session:
        row = await session.get(model, arn)
        version = await session.get(SolutionVersion, row.solution_version_arn) if row else None
        solution = await session.get(Solution, version.solution_arn) if version else None
        filter_row = None
        filter_arn = getattr(row, "filter_arn", None)
        if filter_arn:
            filter_row = await session.get(Filter, filter_arn)
            if filter_row is None or filter_row.status != lifecycle.ACTIVE:
                raise StepFailed(f"The filter {filter_arn} was deleted before the job ran.")
    if row is None or version is None or solution is None or version.artifact_key is None:
        raise StepFailed("The solution version was deleted before the job ran.")
    await batch.run_job(
        ctx,
        arn=arn,
        kind=kind,
        version_arn=version.arn,
        group_arn=solution.dataset_group_arn,
        artifact_key=version.artifact_key,
        filter_expression=filter_row.expression if filter_row else None,
        num_results=row.num_results,
        input_path=row.input_path,
        output_path=row.output_path,
    )


def summary(row: BatchInferenceJob) -> dict[str, Any]:
    return drop_none(
        {
            "batchInferenceJobArn": row.arn,
            "jobName": row.name,
            "status": row.status,
            "failureReason": row.failure_reason,
            "solutionVersionArn": row.solution_version_arn,
            "batchInferenceJobMode": MODE,
            **stamps(row),
        }
    )


def resume(ctx: EngineContext, arn: str) -> None:
    """Start (or, after a restart, run again from the start: the output appears whole or not
    at all) a job's lifecycle."""
    work = lambda: run(ctx, BatchInferenceJob, arn, batch.INFERENCE)  # noqa: E731
    ctx.spawn(arn, lifecycle.create(ctx, BatchInferenceJob, arn, work))


async def create_batch_inference_job(ctx: EngineContext, body: dict[str, Any]) -> dict[str, Any]:
    name, version_arn = body["jobName"], body["solutionVersionArn"]
    filter_arn = body.get("filterArn")
    count = num_results(body, MAX_RESULTS)
    input_path, output_path = locations(body, ctx.settings.IMPORT_ROOTS)
    config = body.get("batchInferenceJobConfig")  # only {} passes coverage.py
    arn = ctx.arns.batch_inference_job(name)
    async with ctx.sessionmaker() as session:
        _, solution, recipe, recipe_type = await version_recipe(session, version_arn)
        if recipe_type == "USER_SEGMENTATION":
            raise InvalidInput(
                f"Solution version {version_arn} is a USER_SEGMENTATION one ({recipe}): "
                "use CreateBatchSegmentJob."
            )
        if filter_arn is not None:
            filter_row = await get_resource(session=session, model=Filter, arn=filter_arn)
            require_active(filter_row, "filter")
            if filter_row.dataset_group_arn != solution.dataset_group_arn:
                raise InvalidInput(
                    f"Filter {filter_arn} belongs to another dataset group than the solution "
                    "version."
                )
        if await exists(session=session, model=BatchInferenceJob, arn=arn):
            raise AlreadyExists(f"Batch inference job {arn} already exists.")
        t = now()
        session.add(
            BatchInferenceJob(
                arn=arn,
                name=name,
                solution_version_arn=version_arn,
                filter_arn=filter_arn,
                num_results=count,
                input_path=input_path,
                output_path=output_path,
                role_arn=body["roleArn"],
                job_config=None if config is None else json.dumps(config),
                created=t,
                updated=t,
            )
        )
        await session.commit()
    resume(ctx, arn)
    return {"batchInferenceJobArn": arn}


async def describe_batch_inference_job(ctx: EngineContext, body: dict[str, Any]) -> dict[str, Any]:
    arn = body["batchInferenceJobArn"]
    async with ctx.sessionmaker() as session:
        row = await get_resource(session=session, model=BatchInferenceJob, arn=arn)
    out = {
        **summary(row),
        "filterArn": row.filter_arn,
        "numResults": row.num_results,
        **paths(row),
        "roleArn": row.role_arn,
    }
    if row.job_config is not None:
        out["batchInferenceJobConfig"] = json.loads(row.job_config)
    return {"batchInferenceJob": drop_none(out)}


async def list_batch_inference_jobs(ctx: EngineContext, body: dict[str, Any]) -> dict[str, Any]:
    return await list_response(
        ctx,
        body,
        model=BatchInferenceJob,
        key="batchInferenceJobs",
        summarize=summary,
        parent=("solutionVersionArn", "solution_version_arn"),
    )


OPERATIONS = {
    "CreateBatchInferenceJob": create_batch_inference_job,
    "DescribeBatchInferenceJob": describe_batch_inference_job,
    "ListBatchInferenceJobs": list_batch_inference_jobs,
}
