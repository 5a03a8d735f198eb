"""Calls to the catalog service. It is critical: without it no row can be shown.

A catalog that cannot be reached becomes 503, an unusable answer 502, and its 404
(unknown user or film) and 422 (bad genre) pass through with the catalog's message.
"""

from __future__ import annotations

import logging
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from services.common.errors import BadGateway, BadRequest, NotFound, UpstreamUnavailable
from services.common.http import create_http_client
from services.recommender.cache import TtlCache
from services.recommender.models import (
    MoviePublic,
    MoviesPage,
    PopularMoviePublic,
    PopularPage,
    RatedPage,
    RecommendedItem,
    ReviewsPage,
    UsersPage,
)

logger = logging.getLogger(__name__)

CATALOG_TIMEOUT = httpx.Timeout(3.0, connect=1.0)
CATALOG_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=100)
# `GET /movies?ids=` takes at most this many ids per call.
MAX_IDS_PER_CALL = 500
# `GET /users` answers at most this many users per page.
USERS_PAGE = 500
# Enough for every MovieLens user (the most active one has 737 reviews).
MAX_REVIEWS = 1000


M = TypeVar("M", bound=BaseModel)


def create_catalog_http(base_url: str) -> httpx.AsyncClient:
    return create_http_client(base_url, timeout=CATALOG_TIMEOUT, limits=CATALOG_LIMITS)


class CatalogClient:
    """One small method per catalog call, over the process's shared httpx client."""

    def __init__(self, http: httpx.AsyncClient, *, rated_ttl: float, movies_ttl: float) -> None:
        self.http = http
        self._rated: TtlCache[int, frozenset[int]] = TtlCache(rated_ttl)
        self._user_ids: TtlCache[str, frozenset[int]] = TtlCache(rated_ttl)
        self._movies: TtlCache[int, RecommendedItem] = TtlCache(movies_ttl)

    async def _get(self, path: str, what: str, params: dict[str, Any] | None = None) -> bytes:
        """The body of a 200 answer; every other outcome becomes the matching ServiceError."""
        try:
            response = await self.http.get(path, params=params)
        except httpx.HTTPError as exc:
            raise UpstreamUnavailable(f"catalog unavailable ({what}): {exc!r}") from exc
        if response.status_code == 404:
            raise NotFound(_detail(response, f"{what}: not found"))
        if response.status_code == 422:
            raise BadRequest(_detail(response, f"{what}: rejected by the catalog"))
        if response.status_code >= 500:
            raise UpstreamUnavailable(f"catalog unavailable ({what}): HTTP {response.status_code}")
        if response.status_code != 200:
            raise BadGateway(f"catalog answered HTTP {response.status_code} to {what}")
        return response.content

    async def _get_as(self, shape: type[M], path: str, what: str, **params: Any) -> M:
        body = await self._get(path, what, params or None)
        try:
            return shape.model_validate_json(body)
        except ValidationError as exc:
            raise BadGateway(f"catalog answered an unexpected body to {what}") from exc

    async def movies(self, ids: list[int]) -> dict[int, RecommendedItem]:
        """The catalog's films for `ids`, by id; unknown ids are left out with a warning.

        Films still fresh in the cache (MOVIES_CACHE_SECONDS) are not asked again; the
        others come in one batch call (or one per 500 ids).
        """
        found: dict[int, RecommendedItem] = {}
        wanted: list[int] = []
        for movie_id in dict.fromkeys(ids):
            cached = self._movies.peek(movie_id)
            if cached is None:
                wanted.append(movie_id)
            else:
                found[movie_id] = cached
        for start in range(0, len(wanted), MAX_IDS_PER_CALL):
            chunk = ",".join(map(str, wanted[start : start + MAX_IDS_PER_CALL]))
            page = await self._get_as(MoviesPage, "/movies", "movie lookup", ids=chunk)
            for movie in page.data:
                found[movie.id] = movie
                self._movies.put(movie.id, movie)
            if page.missing:
                logger.warning(
                    "ids missing from the catalog skipped", extra={"missing": page.missing}
                )
        return found

    async def movie(self, movie_id: int) -> MoviePublic:
        return await self._get_as(MoviePublic, f"/movies/{movie_id}", f"film {movie_id}")

    async def popular(self, *, genre: str | None, limit: int) -> list[PopularMoviePublic]:
        params: dict[str, Any] = {"limit": limit}
        if genre:
            params["genre"] = genre
        page = await self._get_as(PopularPage, "/movies/popular", "popular films", **params)
        return page.data

    async def top_review(self, user_id: int) -> MoviePublic | None:
        """The user's best review's film (rating desc, newest first), None if they have none."""
        page = await self._get_as(
            ReviewsPage, f"/users/{user_id}/reviews", f"user {user_id}", limit=1
        )
        return page.data[0].movie if page.data else None

    async def rated_ids(self, user_id: int) -> frozenset[int]:
        """Every film the user has rated (cached: the catalog does not change once loaded)."""

        async def fetch() -> frozenset[int]:
            page = await self._get_as(
                RatedPage, f"/users/{user_id}/reviews", f"user {user_id}", limit=MAX_REVIEWS
            )
            return frozenset(review.movie.id for review in page.data)

        return await self._rated.get(user_id, fetch)

    async def check_user(self, user_id: int) -> None:
        """Raise NotFound (the catalog's message) unless the user exists.

        The id set of all users is read in pages and kept RATED_CACHE_SECONDS: asking
        `GET /users/{id}` (which sums the user's reviews) for each new user cost the
        catalog more than the rest of an answer. An id not in the set is asked for
        directly, which gives the catalog's 404 message or finds a newly added user.
        """
        if user_id in await self._user_ids.get("all", self._all_user_ids):
            return
        await self._get(f"/users/{user_id}", f"user {user_id}")

    async def _all_user_ids(self) -> frozenset[int]:
        ids: set[int] = set()
        while True:
            page = await self._get_as(
                UsersPage, "/users", "user list", offset=len(ids), limit=USERS_PAGE
            )
            ids.update(user.id for user in page.data)
            if not page.data or len(ids) >= page.count:
                return frozenset(ids)

    async def ready(self) -> str | None:
        try:
            response = await self.http.get("/healthz", timeout=2.0)
        except httpx.HTTPError as exc:
            return f"catalog unreachable: {exc!r}"
        return None if response.status_code == 200 else f"catalog: HTTP {response.status_code}"


def _detail(response: httpx.Response, fallback: str) -> str:
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        detail = None
    return detail if isinstance(detail, str) and detail else fallback
