"""The JSON shapes of docs/contracts.md (Recommender), and the downstream shapes it reads.

The recommender owns no tables, so these are plain pydantic models (no SQLModel): every
one is a response or a parsed downstream answer, validated straight from JSON bytes.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel

ModelType = Literal["recommendations", "ranking", "similar-items"]

# ---------------------------------------------------------------- catalog shapes


# A movie as the catalog answers it (catalog MoviePublic).
class MoviePublic(BaseModel):
    id: int
    title: str
    year: int | None = None
    release_date: date | None = None
    imdb_url: str | None = None
    poster_url: str | None = None
    genres: list[str]


# A popular movie: how many 4- and 5-star reviews it has.
class PopularMoviePublic(MoviePublic):
    positive_reviews: int


# A campaign's item, enriched from the catalog; score is null when the recipe gives none.
class RecommendedItem(MoviePublic):
    score: float | None = None


# `GET /movies?ids=`: parsed straight into the items the blocks hold.
class MoviesPage(BaseModel):
    data: list[RecommendedItem]
    missing: list[int] = []


# `GET /movies/popular`.
class PopularPage(BaseModel):
    data: list[PopularMoviePublic]


# `GET /users/{id}/reviews`, read for the top film or for the rated ids only.
class _Review(BaseModel):
    movie: MoviePublic


class ReviewsPage(BaseModel):
    data: list[_Review]


class _RatedMovie(BaseModel):
    id: int


class _Rated(BaseModel):
    movie: _RatedMovie


class RatedPage(BaseModel):
    data: list[_Rated]


# `GET /users`, read for the ids only.
class _UserId(BaseModel):
    id: int


class UsersPage(BaseModel):
    data: list[_UserId]
    count: int


# ---------------------------------------------------------------- registry shapes


# A registered model (registry ModelPublic).
class RegisteredModel(BaseModel):
    id: int
    name: str
    campaign_arn: str
    type: ModelType
    sort_order: int
    recipe: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


# ---------------------------------------------------------------- recommender answers


# Which model produced a block.
class ModelRef(BaseModel):
    id: int
    name: str
    type: ModelType
    recipe: str | None = None


# One model's row: its items, how long its campaign call(s) took, and why it failed if it did.
class Block(BaseModel):
    model: ModelRef
    items: list[RecommendedItem]
    elapsed_ms: float
    error: str | None = None


# `GET /users/{id}/recommendations`: one block per model, in the order asked.
class RecommendationsPublic(BaseModel):
    user_id: int
    blocks: list[Block]


# `GET /users/{id}/ranking`: the popular candidates and, with a model, their personal order.
class RankingPublic(BaseModel):
    user_id: int
    genre: str | None
    popular: list[PopularMoviePublic]
    ranked: Block | None


# `GET /users/{id}/similar`: the seed film, its similar films, and the re-ranking model if any.
class SimilarPublic(BaseModel):
    user_id: int
    seed: MoviePublic
    block: Block
    reranked_by: ModelRef | None


# One row of the model summary: the registered model and its offline metrics.
class ModelSummary(RegisteredModel):
    metrics: dict[str, float] | None = None
    error: str | None = None


class ModelsSummaryPublic(BaseModel):
    data: list[ModelSummary]


def model_ref(model: RegisteredModel) -> ModelRef:
    return ModelRef(id=model.id, name=model.name, type=model.type, recipe=model.recipe)
