"""A user's rows: recommendations per model, personal ranking, similar films."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from services.common.errors import BadRequest
from services.common.ids import parse_id, quoted
from services.recommender import service
from services.recommender.deps import DownstreamsDep
from services.recommender.models import RankingPublic, RecommendationsPublic, SimilarPublic

router = APIRouter(prefix="/users", tags=["users"])

MAX_MODELS = 5
MAX_ID = 2**31 - 1
UserId = Annotated[int, Path(ge=1, le=MAX_ID, description="MovieLens user id")]
Num = Annotated[int, Query(ge=1, le=500, description="Items per model")]
ERRORS = {
    404: {"description": "Unknown user, film or model"},
    422: {"description": "Bad parameter, or a model of the wrong type"},
    503: {"description": "Catalog or registry unreachable"},
}


def parse_model_ids(raw: str) -> list[int]:
    """`1,2` → [1, 2], with a message that says what is wrong otherwise."""
    parts = [part.strip() for part in raw.split(",") if part.strip()]
    if not parts:
        raise BadRequest("models: give at least one registry model id, e.g. models=1,2")
    if len(parts) > MAX_MODELS:
        raise BadRequest(f"models: at most {MAX_MODELS} model ids, got {len(parts)}")
    ids = [parse_id(part, max_id=MAX_ID) for part in parts]
    if any(model_id is None for model_id in ids):
        raise BadRequest(
            f"models: expected comma-separated model ids (positive integers up to {MAX_ID}), "
            f"got {quoted(raw)}"
        )
    return [model_id for model_id in ids if model_id is not None]


@router.get(
    "/{user_id}/recommendations",
    summary="Recommendations from one or more models",
    operation_id="users-recommendations",
    responses=ERRORS,
)
async def get_recommendations(
    user_id: UserId,
    downstreams: DownstreamsDep,
    models: Annotated[str, Query(description="Registry model ids, comma-separated")],
    num: Num = 25,
    exclude_rated: bool = True,
) -> RecommendationsPublic:
    """GetRecommendations for each model concurrently, one enriched block per model."""
    return await service.recommendations(
        catalog=downstreams.catalog,
        registry=downstreams.registry,
        personalize=downstreams.personalize,
        user_id=user_id,
        model_ids=parse_model_ids(models),
        num=num,
        exclude_rated=exclude_rated,
        exclude_filter_arn=downstreams.settings.EXCLUDE_FILTER_ARN,
    )


@router.get(
    "/{user_id}/ranking",
    summary="Popular films re-ranked for the user",
    operation_id="users-ranking",
    responses=ERRORS,
)
async def get_ranking(
    user_id: UserId,
    downstreams: DownstreamsDep,
    model: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="Registry id of a ranking model")
    ] = None,
    genre: Annotated[str | None, Query(max_length=32, description="Genre slug, or all")] = None,
) -> RankingPublic:
    """The 25 most popular films (of a genre), in the ranking model's order for this user."""
    return await service.ranking(
        catalog=downstreams.catalog,
        registry=downstreams.registry,
        personalize=downstreams.personalize,
        user_id=user_id,
        model_id=model,
        genre=None if genre in (None, "", "all") else genre,
    )


@router.get(
    "/{user_id}/similar",
    summary="Films similar to a seed film",
    operation_id="users-similar",
    responses=ERRORS,
)
async def get_similar(
    user_id: UserId,
    downstreams: DownstreamsDep,
    model: Annotated[
        int, Query(ge=1, le=MAX_ID, description="Registry id of a similar-items model")
    ],
    item: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="Seed film; default: top-rated")
    ] = None,
    rerank: bool = False,
    num: Num = 25,
) -> SimilarPublic:
    """Similar films to `item` (or the user's top-rated film), re-ranked on request."""
    return await service.similar(
        catalog=downstreams.catalog,
        registry=downstreams.registry,
        personalize=downstreams.personalize,
        user_id=user_id,
        model_id=model,
        item_id=item,
        num=num,
        rerank=rerank,
    )
