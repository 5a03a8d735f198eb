"""What each endpoint does, as keyword-only async functions over the three clients.

Critical calls (catalog, registry) raise and become 4xx/5xx; campaign calls are
optional and fail into their own block (style.md, point 9).
"""

from __future__ import annotations

import asyncio
import functools

from services.common.errors import BadRequest, NotFound
from services.recommender.blocks import enrich, require_type, run_together, timed, to_block
from services.recommender.cache import TtlCache
from services.recommender.clients.catalog import CatalogClient
from services.recommender.clients.personalize import (
    MAX_RESULTS,
    CampaignError,
    PersonalizeClient,
)
from services.recommender.clients.registry import RegistryClient
from services.recommender.models import (
    ModelsSummaryPublic,
    ModelSummary,
    RankingPublic,
    RecommendationsPublic,
    RecommendedItem,
    SimilarPublic,
    model_ref,
)

POPULAR_CANDIDATES = 25


async def recommendations(
    *,
    catalog: CatalogClient,
    registry: RegistryClient,
    personalize: PersonalizeClient,
    user_id: int,
    model_ids: list[int],
    num: int,
    exclude_rated: bool,
    exclude_filter_arn: str | None,
) -> RecommendationsPublic:
    """GetRecommendations on every chosen model at once; one block per model."""
    models = [await registry.model(model_id) for model_id in model_ids]
    for model in models:
        require_type(model, "recommendations")
    # exclude_rated: the campaign's EXCLUDE filter when one is configured; otherwise ask
    # for as many more items as the user has ratings, and drop the rated ones here.
    filter_arn = exclude_filter_arn if exclude_rated else None
    rated: frozenset[int] = frozenset()
    if exclude_rated and not filter_arn:
        rated = await catalog.rated_ids(user_id)  # also the 404 for an unknown user
        user_check = None
    else:
        user_check = catalog.check_user(user_id)
    ask = min(MAX_RESULTS, num + len(rated))
    calls = [
        timed(
            model,
            functools.partial(
                personalize.recommendations,
                campaign_arn=model.campaign_arn,
                user_id=user_id,
                num=ask,
                filter_arn=filter_arn,
            ),
        )
        for model in models
    ]
    raws = await run_together(*calls, *([user_check] if user_check else []))
    raws = raws[: len(models)]
    for raw in raws:
        raw.items = [item for item in raw.items if item[0] not in rated][:num]
    return RecommendationsPublic(user_id=user_id, blocks=await enrich(catalog, raws))


async def ranking(
    *,
    catalog: CatalogClient,
    registry: RegistryClient,
    personalize: PersonalizeClient,
    user_id: int,
    model_id: int | None,
    genre: str | None,
) -> RankingPublic:
    """The genre's popular films, and their order for this user by a ranking model."""
    model = await registry.model(model_id) if model_id is not None else None
    if model is not None:
        require_type(model, "ranking")
    popular, _ = await run_together(
        catalog.popular(genre=genre, limit=POPULAR_CANDIDATES), catalog.check_user(user_id)
    )
    ranked = None
    if model is not None:
        ids = [movie.id for movie in popular]
        raw = await timed(
            model,
            functools.partial(
                personalize.ranking, campaign_arn=model.campaign_arn, user_id=user_id, item_ids=ids
            ),
        )
        # The candidates are already in hand: no second catalog call.
        movies = {
            movie.id: RecommendedItem(**movie.model_dump(exclude={"positive_reviews"}))
            for movie in popular
        }
        ranked = to_block(raw, movies)
    return RankingPublic(user_id=user_id, genre=genre, popular=popular, ranked=ranked)


async def similar(
    *,
    catalog: CatalogClient,
    registry: RegistryClient,
    personalize: PersonalizeClient,
    user_id: int,
    model_id: int,
    item_id: int | None,
    num: int,
    rerank: bool,
) -> SimilarPublic:
    """Films similar to the seed (given, or the user's top-rated), optionally re-ranked."""
    model = await registry.model(model_id)
    require_type(model, "similar-items")
    reranker = None
    if rerank:
        # As in the lab: the first ranking model by sort order, not a user choice.
        reranker = await registry.first_of_type("ranking")
        if reranker is None:
            raise BadRequest("rerank=true needs a registered ranking model, and there is none")
    if item_id is not None:
        seed, _ = await run_together(catalog.movie(item_id), catalog.check_user(user_id))
    else:
        seed = await catalog.top_review(user_id)
        if seed is None:
            raise NotFound(f"user {user_id} has no reviews to take a seed from; pass item")
    raw = await timed(
        model,
        functools.partial(
            personalize.recommendations,
            campaign_arn=model.campaign_arn,
            item_id=seed.id,
            num=num + 1,
        ),
    )
    raw.items = [item for item in raw.items if item[0] != seed.id][:num]
    reranked_by = None
    if reranker is not None and raw.error is None and raw.items:
        ranked = await timed(
            reranker,
            functools.partial(
                personalize.ranking,
                campaign_arn=reranker.campaign_arn,
                user_id=user_id,
                item_ids=[movie_id for movie_id, _ in raw.items],
            ),
        )
        raw.elapsed_ms += ranked.elapsed_ms
        if ranked.error is None:
            raw.items = ranked.items
            reranked_by = model_ref(reranker)
        else:
            raw.error = (
                f"re-ranking by model {reranker.id} ({reranker.name}) failed: {ranked.error}"
            )
    (block,) = await enrich(catalog, [raw])
    return SimilarPublic(user_id=user_id, seed=seed, block=block, reranked_by=reranked_by)


async def models_summary(
    *,
    registry: RegistryClient,
    personalize: PersonalizeClient,
    cache: TtlCache[str, dict[str, float]],
    timeout: float,
) -> ModelsSummaryPublic:
    """Every registered model with its offline metrics (cached per campaign)."""
    models = await registry.models()

    async def one(model_index: int) -> ModelSummary:
        model = models[model_index]
        row = model.model_dump()
        try:
            metrics = await cache.get(
                model.campaign_arn,
                functools.partial(
                    personalize.solution_metrics, campaign_arn=model.campaign_arn, timeout=timeout
                ),
            )
        except CampaignError as exc:
            return ModelSummary(**row, metrics=None, error=str(exc))
        return ModelSummary(**row, metrics=metrics, error=None)

    rows = await asyncio.gather(*(one(i) for i in range(len(models))))
    return ModelsSummaryPublic(data=list(rows))
