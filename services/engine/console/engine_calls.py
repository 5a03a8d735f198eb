"""How the console talks to the engine: through the API's own handlers, in process.

Control-plane calls go through `OPERATIONS` (the table the awsJson route dispatches to)
and runtime calls through the runtime endpoints themselves, so every check, message
and side effect is the API's; nothing is re-implemented here. Errors stay
`PersonalizeError`s; `message_of` turns one into text for a form.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import orjson
from fastapi import FastAPI, Request

from services.engine.controlplane import OPERATIONS
from services.engine.runtime import routes as runtime
from services.engine.wire.errors import PersonalizeError

if TYPE_CHECKING:
    from services.engine.context import EngineContext

# Describe operation and answer key per ARN resource type; a solution ARN with a
# second path segment is a solution version.
DESCRIBE = {
    "dataset-group": ("DescribeDatasetGroup", "datasetGroupArn", "datasetGroup"),
    "dataset": ("DescribeDataset", "datasetArn", "dataset"),
    "dataset-import-job": ("DescribeDatasetImportJob", "datasetImportJobArn", "datasetImportJob"),
    "solution": ("DescribeSolution", "solutionArn", "solution"),
    "solution-version": ("DescribeSolutionVersion", "solutionVersionArn", "solutionVersion"),
    "campaign": ("DescribeCampaign", "campaignArn", "campaign"),
    "filter": ("DescribeFilter", "filterArn", "filter"),
    "event-tracker": ("DescribeEventTracker", "eventTrackerArn", "eventTracker"),
}
# What the console may delete, and the API operation that does it.
DELETE = {
    "dataset-group": ("DeleteDatasetGroup", "datasetGroupArn"),
    "dataset": ("DeleteDataset", "datasetArn"),
    "solution": ("DeleteSolution", "solutionArn"),
    "campaign": ("DeleteCampaign", "campaignArn"),
    "filter": ("DeleteFilter", "filterArn"),
    "event-tracker": ("DeleteEventTracker", "eventTrackerArn"),
}
# Checked with fullmatch: `match` lets `$` match before a final newline.
_ARN_TYPE = re.compile(r"arn:[a-z\d-]+:personalize:[^:]*:[^:]*:([a-z-]+)/(.+)")


def engine_app(request: Request) -> FastAPI:
    """The engine app the console is mounted in (its state holds the EngineContext)."""
    parent: FastAPI = request.app.state.parent
    return parent


def context(request: Request) -> EngineContext:
    ctx: EngineContext = engine_app(request).state.engine
    return ctx


async def call(request: Request, operation: str, body: dict[str, Any]) -> dict[str, Any]:
    """Run one control-plane operation exactly as `POST /` would."""
    return await OPERATIONS[operation](context(request), body)


async def list_all(
    request: Request, operation: str, key: str, body: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Every page of a List* operation."""
    items: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        page = await call(
            request, operation, {**(body or {}), **({"nextToken": token} if token else {})}
        )
        items.extend(page.get(key, []))
        token = page.get("nextToken")
        if not token:
            return items


def resource_type(arn: str) -> str | None:
    match = _ARN_TYPE.fullmatch(arn)
    if match is None:
        return None
    kind, path = match.groups()
    if kind == "solution" and "/" in path:
        return "solution-version"
    return kind


async def describe(request: Request, arn: str) -> dict[str, Any]:
    kind = resource_type(arn)
    if kind not in DESCRIBE:
        raise PersonalizeError(f"{arn} is not an ARN the console can describe.")
    operation, field, key = DESCRIBE[kind]
    answer: dict[str, Any] = (await call(request, operation, {field: arn}))[key]
    return answer


async def delete(request: Request, arn: str) -> None:
    kind = resource_type(arn)
    if kind not in DELETE:
        raise PersonalizeError(f"{arn} is not something the console can delete.")
    operation, field = DELETE[kind]
    await call(request, operation, {field: arn})


async def run_runtime(request: Request, operation: str, body: dict[str, Any]) -> dict[str, Any]:
    """GetRecommendations / GetPersonalizedRanking through the runtime's own handlers."""
    handler = {
        "GetRecommendations": runtime.get_recommendations,
        "GetPersonalizedRanking": runtime.get_personalized_ranking,
    }[operation]
    return await handler(engine_app(request).state.engine, orjson.dumps(body))


def message_of(exc: PersonalizeError) -> str:
    """The API's own message, as a form shows it."""
    return exc.message
