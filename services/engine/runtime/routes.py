"""personalize-runtime: GetRecommendations and GetPersonalizedRanking.

This is the engine's hot path, measured against the bare framework (bench/engine.py), so
the two operations are bare ASGI endpoints rather than FastAPI routes: hand-checked JSON
read with orjson costs a fraction of pydantic validation, and answering through `send`
skips Starlette's Request/Response wrapping, which on this path cost as much as the
model. They still sit in the app's router, behind its middleware and exception handlers:
a raised `PersonalizeError` becomes the AWS error shape as everywhere else.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from services.engine.arns import new_recommendation_id
from services.engine.runtime.deployment import Deployment
from services.engine.runtime.filtering import allowed_mask
from services.engine.wire import coverage, validate
from services.engine.wire.errors import InvalidInput

if TYPE_CHECKING:
    from services.engine.context import EngineContext

RUNTIME = "personalize-runtime"
MAX_RESULTS = 500
DEFAULT_RESULTS = 25


def read_json(raw: bytes) -> dict[str, Any]:
    try:
        body = orjson.loads(raw or b"{}")
    except orjson.JSONDecodeError:
        raise InvalidInput("The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise InvalidInput("The request body must be a JSON object.")
    validate.check_depth(body)
    return body


async def read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


Handler = Callable[["EngineContext", bytes], Awaitable[dict[str, Any]]]


class Endpoint:
    """A runtime operation as a bare ASGI app: JSON in, JSON out (see the module docstring)."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        payload = await self.handler(scope["app"].state.engine, await read_body(receive))
        body = orjson.dumps(payload)
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _common(body: dict[str, Any]) -> tuple[str, dict[str, str] | None]:
    """campaignArn (optional in the model only because recommenderArn, refused here, may
    replace it) and filterValues, both already checked against the model."""
    return validate.required(body, "campaignArn"), body.get("filterValues")


async def _mask(
    ctx: EngineContext,
    dep: Deployment,
    body: dict[str, Any],
    values: dict[str, str] | None,
    user_id: str | None,
) -> np.ndarray | None:
    filter_arn = body.get("filterArn")
    if filter_arn is None:
        return None
    deployed = await ctx.serving.filter(filter_arn)
    if deployed.dataset_group_arn != dep.group.arn:
        raise InvalidInput(
            f"Filter {filter_arn} belongs to another dataset group than the campaign."
        )
    return allowed_mask(
        dep, deployed.parsed, values, user_id, ctx.settings.FILTER_INTERACTION_WINDOW
    )


def _items(dep: Deployment, indices: np.ndarray, scores: np.ndarray | None) -> list[dict[str, Any]]:
    ids = dep.model.item_ids[indices].tolist()
    if scores is None:
        return [{"itemId": item_id} for item_id in ids]
    return [
        {"itemId": item_id, "score": score}
        for item_id, score in zip(ids, scores.tolist(), strict=True)
    ]


def recommendations(
    dep: Deployment,
    *,
    user_id: str | None,
    item_id: str | None,
    num: int,
    mask: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """GetRecommendations' answer as item indices and scores (None: the recipe gives none);
    batch inference jobs (services/engine/batch.py) call it too."""
    if dep.recipe_type == "RELATED_ITEMS":
        return dep.model.similar_items(
            item=dep.model.item_index.get(item_id or ""), num=num, allowed=mask
        )
    return dep.model.recommend(
        history=dep.history(user_id),
        num=num,
        allowed=mask,
        user_features=dep.group.user_attributes.get(user_id or ""),
    )


def ranked(
    dep: Deployment, *, input_list: list[str], mask: np.ndarray | None, user_id: str | None
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """GetPersonalizedRanking's answer: the known, allowed items of `input_list` ordered
    (indices, scores), then the ids the model does not know, in their order; duplicates
    count once. Batch inference jobs call it too."""
    index = dep.model.item_index
    known: list[int] = []
    unknown: list[str] = []
    seen: set[str] = set()
    for item_id in input_list:
        if item_id in seen:
            continue
        seen.add(item_id)
        i = index.get(item_id)
        if i is None:
            unknown.append(item_id)
        elif mask is None or mask[i]:
            known.append(i)
    if not known:
        return np.empty(0, np.int64), np.empty(0, np.float32), unknown
    ordered, scores = dep.model.rank(
        history=dep.history(user_id),
        candidates=np.asarray(known, dtype=np.int64),
        user_features=dep.group.user_attributes.get(user_id or ""),
    )
    return ordered, scores, unknown


async def get_recommendations(ctx: EngineContext, raw: bytes) -> dict[str, Any]:
    """POST /recommendations (GetRecommendations)."""
    body = read_json(raw)
    coverage.check(service=RUNTIME, operation="GetRecommendations", body=body)
    campaign_arn, filter_values = _common(body)
    user_id, item_id = body.get("userId"), body.get("itemId")
    num = body.get("numResults")
    num = DEFAULT_RESULTS if num is None else num
    if num > MAX_RESULTS:  # the model sets no maximum; AWS's is 500
        raise InvalidInput(
            f"1 validation error detected: Value '{num}' at 'numResults' failed to satisfy "
            f"constraint: Member must have value less than or equal to {MAX_RESULTS}"
        )
    dep = await ctx.serving.deployment(campaign_arn)
    recipe_type = dep.recipe_type
    started = time.perf_counter()
    if recipe_type == "PERSONALIZED_RANKING":
        raise InvalidInput(
            f"Campaign {campaign_arn} is a PERSONALIZED_RANKING campaign: "
            "call GetPersonalizedRanking."
        )
    mask = await _mask(ctx, dep, body, filter_values, user_id)
    if recipe_type == "RELATED_ITEMS" and item_id is None:
        raise InvalidInput(f"itemId is required: campaign {campaign_arn} serves RELATED_ITEMS.")
    if recipe_type != "RELATED_ITEMS" and user_id is None:
        raise InvalidInput(
            f"userId is required: campaign {campaign_arn} serves USER_PERSONALIZATION."
        )
    indices, scores = recommendations(dep, user_id=user_id, item_id=item_id, num=num, mask=mask)
    ctx.metrics.observe_inference("GetRecommendations", recipe_type, time.perf_counter() - started)
    return {
        "itemList": _items(dep, indices[:num], scores),
        "recommendationId": new_recommendation_id(),
    }


async def get_personalized_ranking(ctx: EngineContext, raw: bytes) -> dict[str, Any]:
    """POST /personalize-ranking (GetPersonalizedRanking)."""
    body = read_json(raw)
    coverage.check(service=RUNTIME, operation="GetPersonalizedRanking", body=body)
    campaign_arn, filter_values = _common(body)
    user_id, input_list = body["userId"], body["inputList"]
    # The model sets no length on inputList nor a minimum on its item ids; AWS does.
    if not input_list:
        raise InvalidInput(
            "1 validation error detected: 'inputList' is required and must be a non-empty list."
        )
    if len(input_list) > MAX_RESULTS:
        raise InvalidInput(
            f"1 validation error detected: Value at 'inputList' failed to satisfy constraint: "
            f"Member must have length less than or equal to {MAX_RESULTS}"
        )
    for i, value in enumerate(input_list):
        if not value:
            raise InvalidInput(f"inputList[{i}] must be an item id of 1 to 256 characters.")
    dep = await ctx.serving.deployment(campaign_arn)
    if dep.recipe_type != "PERSONALIZED_RANKING":
        raise InvalidInput(
            f"Campaign {campaign_arn} serves {dep.recipe_type}: GetPersonalizedRanking needs a "
            "PERSONALIZED_RANKING campaign."
        )
    started = time.perf_counter()
    mask = await _mask(ctx, dep, body, filter_values, user_id)
    ordered, scores, unknown = ranked(dep, input_list=input_list, mask=mask, user_id=user_id)
    ranking = _items(dep, ordered, scores) if len(ordered) else []
    ranking.extend({"itemId": item_id} for item_id in unknown)
    ctx.metrics.observe_inference(
        "GetPersonalizedRanking", dep.recipe_type, time.perf_counter() - started
    )
    return {"personalizedRanking": ranking, "recommendationId": new_recommendation_id()}


routes = [
    Route(
        "/recommendations",
        Endpoint(get_recommendations),
        methods=["POST"],
        name="GetRecommendations",
    ),
    Route(
        "/personalize-ranking",
        Endpoint(get_personalized_ranking),
        methods=["POST"],
        name="GetPersonalizedRanking",
    ),
]
