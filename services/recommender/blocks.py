"""Building blocks of every answer: timed campaign calls, type checks, catalog enrichment."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from typing import Any

from services.common.errors import BadRequest
from services.recommender.clients.catalog import CatalogClient
from services.recommender.clients.personalize import CampaignError, ScoredItem
from services.recommender.models import (
    Block,
    ModelType,
    RecommendedItem,
    RegisteredModel,
    model_ref,
)

logger = logging.getLogger(__name__)

# What each recipe can answer; re-checked at use time because a campaign registered
# under the wrong type only fails when it is called (workshop-app.md section 8, #5).
RECIPE_TYPES: dict[str, ModelType] = {
    "aws-user-personalization": "recommendations",
    "aws-user-personalization-v2": "recommendations",
    "aws-hrnn": "recommendations",
    "aws-hrnn-coldstart": "recommendations",
    "aws-hrnn-metadata": "recommendations",
    "aws-popularity-count": "recommendations",
    "aws-personalized-ranking": "ranking",
    "aws-personalized-ranking-v2": "ranking",
    "aws-sims": "similar-items",
}


def require_type(model: RegisteredModel, expected: ModelType) -> None:
    """422 unless the model (and its recipe, when known) answers this kind of request."""
    if model.type != expected:
        raise BadRequest(
            f"model {model.id} ({model.name}) is a {model.type} model; "
            f"this endpoint needs a {expected} model"
        )
    recipe = (model.recipe or "").rsplit("/", 1)[-1]
    recipe_type = RECIPE_TYPES.get(recipe)
    if recipe_type is not None and recipe_type != expected:
        raise BadRequest(
            f"model {model.id} ({model.name}) is registered as {expected} but its campaign "
            f"uses recipe {recipe}, which gives {recipe_type}"
        )


@dataclass
class RawBlock:
    """A campaign's answer before enrichment: item ids (as ints) and scores."""

    model: RegisteredModel
    items: list[tuple[int, float | None]] = field(default_factory=list)
    elapsed_ms: float = 0.0
    error: str | None = None


def _to_ids(items: Iterable[ScoredItem]) -> list[tuple[int, float | None]]:
    out = []
    for item in items:
        try:
            out.append((int(item.item_id), item.score))
        except ValueError:
            logger.warning("non-numeric item id skipped", extra={"item_id": item.item_id})
    return out


async def timed(
    model: RegisteredModel, call: Callable[[], Awaitable[list[ScoredItem]]]
) -> RawBlock:
    """Run one campaign call; a failure becomes the block's error, never an exception."""
    started = time.perf_counter()
    try:
        items = await call()
    except CampaignError as exc:
        elapsed = (time.perf_counter() - started) * 1000
        logger.warning(
            "campaign call failed",
            extra={"model_id": model.id, "error": str(exc), "elapsed_ms": round(elapsed, 1)},
        )
        return RawBlock(model, [], elapsed, str(exc))
    return RawBlock(model, _to_ids(items), (time.perf_counter() - started) * 1000)


async def run_together(*coros: Coroutine[Any, Any, Any]) -> list[Any]:
    """Await all concurrently; the first failure cancels the rest and is raised as itself."""
    tasks: list[asyncio.Task[Any]] = []
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(coro) for coro in coros]
    except BaseExceptionGroup as failures:
        raise failures.exceptions[0] from None
    return [task.result() for task in tasks]


def to_block(raw: RawBlock, movies: dict[int, RecommendedItem]) -> Block:
    """The raw block's items that the catalog knows, with their scores, in campaign order."""
    items = []
    for movie_id, score in raw.items:
        movie = movies.get(movie_id)
        if movie is not None:
            items.append(movie if score is None else movie.model_copy(update={"score": score}))
    return Block(
        model=model_ref(raw.model),
        items=items,
        elapsed_ms=round(raw.elapsed_ms, 2),
        error=raw.error,
    )


async def enrich(catalog: CatalogClient, raws: list[RawBlock]) -> list[Block]:
    """Fetch every film of every block in one catalog call, then build the blocks."""
    ids = [movie_id for raw in raws for movie_id, _ in raw.items]
    movies = await catalog.movies(ids) if ids else {}
    return [to_block(raw, movies) for raw in raws]
