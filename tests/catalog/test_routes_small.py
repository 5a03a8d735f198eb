"""Edge cases on a tiny catalog: a user without reviews, id gaps, an empty catalog."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

from services.catalog.config import Settings
from services.catalog.loader import load_movielens
from services.catalog.main import create_catalog_app
from tests.catalog.conftest import SMALL_USERS, write_small


@asynccontextmanager
async def catalog(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    app = create_catalog_app(Settings(DATABASE_URL=database_url, ENVIRONMENT="test"))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://catalog") as client:
            yield client


async def test_user_without_reviews_and_id_gaps(database_url: str, tmp_path: Path) -> None:
    folder = write_small(tmp_path / "ml", users=[*SMALL_USERS, "7|40|F|artist|10001"])
    await load_movielens(database_url=database_url, data_dir=folder, posters=None)
    async with catalog(database_url) as client:
        user = (await client.get("/users/7")).json()
        assert user["review_count"] == 0
        assert user["review_summary"] == [
            {"rating": s, "count": 0, "percent": 0.0} for s in (5, 4, 3, 2, 1)
        ]
        assert (user["previous_id"], user["next_id"]) == (3, None)
        assert (await client.get("/users/3")).json()["next_id"] == 7
        assert (await client.get("/users/7/reviews")).json() == {"data": [], "count": 0}
        assert (await client.get("/users/5")).status_code == 404
        stats = (await client.get("/stats")).json()
        assert stats == {
            "users": 4,
            "movies": 3,
            "reviews": 5,
            "positive_reviews": 4,
            "positive_users": 3,
            "positive_movies": 3,
        }
        horror = (await client.get("/movies/popular", params={"genre": "horror"})).json()
        assert [(m["id"], m["positive_reviews"]) for m in horror["data"]] == [(3, 2)]
        western = (await client.get("/movies/popular", params={"genre": "western"})).json()
        assert western == {"data": [], "count": 0}


async def test_empty_catalog(database_url: str, tmp_path: Path) -> None:
    folder = write_small(tmp_path / "ml", users=[], items=[], reviews=[])
    await load_movielens(database_url=database_url, data_dir=folder, posters=None)
    async with catalog(database_url) as client:
        response = await client.get("/users/random")
        assert (response.status_code, response.json()) == (
            404,
            {"detail": "the catalog has no users: load MovieLens first"},
        )
        assert (await client.get("/users")).json() == {"data": [], "count": 0}
        assert (await client.get("/stats")).json()["reviews"] == 0
