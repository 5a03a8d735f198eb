"""GET /users/{id}/recommendations against the real engine, catalog and registry."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.recommender.conftest import PERSONAL, POPULAR, SIMILAR, recommender_env
from tests.utils.servers import run_server
from tests.utils.stack import Stack

# User 13 has rated 636 films, many of them popular: the exclusion is visible.
HEAVY_USER = 13


async def rated_ids(catalog: httpx.AsyncClient, user_id: int, *, min_rating: int = 1) -> set[int]:
    body = (await catalog.get(f"/users/{user_id}/reviews", params={"limit": 1000})).json()
    return {r["movie"]["id"] for r in body["data"] if r["rating"] >= min_rating}


class TestRecommendations:
    async def test_valid(
        self, stack: Stack, client: httpx.AsyncClient, catalog: httpx.AsyncClient
    ) -> None:
        personal, popular = stack.model_ids[PERSONAL], stack.model_ids[POPULAR]
        response = await client.get(
            "/users/42/recommendations", params={"models": f"{personal},{popular}"}
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["user_id"] == 42
        assert [b["model"]["id"] for b in body["blocks"]] == [personal, popular]
        first, second = body["blocks"]
        assert first["model"] == {
            "id": personal,
            "name": PERSONAL,
            "type": "recommendations",
            "recipe": "aws-user-personalization",
        }
        for block in body["blocks"]:
            assert block["error"] is None
            assert len(block["items"]) == 25
            assert block["elapsed_ms"] > 0
            assert len({item["id"] for item in block["items"]}) == 25
        # user-personalization scores; popularity-count gives none.
        assert all(isinstance(item["score"], float) for item in first["items"])
        assert all(item["score"] is None for item in second["items"])
        # Enriched from the catalog: the same film data the catalog answers.
        item = first["items"][0]
        movie = (await catalog.get(f"/movies/{item['id']}")).json()
        assert {k: item[k] for k in movie} == movie

    async def test_num(self, stack: Stack, client: httpx.AsyncClient) -> None:
        response = await client.get(
            "/users/7/recommendations", params={"models": stack.model_ids[PERSONAL], "num": 10}
        )
        assert response.status_code == 200
        assert len(response.json()["blocks"][0]["items"]) == 10

    async def test_exclude_filter_drops_the_films_the_model_was_trained_on(
        self, stack: Stack, client: httpx.AsyncClient, catalog: httpx.AsyncClient
    ) -> None:
        # The shared recommender uses the pipeline's EXCLUDE filter, which sees the user's
        # interactions: the 4- and 5-star ratings the lab trains on. User 5 has 58, inside
        # the filter's window of 100 recent interactions.
        liked = await rated_ids(catalog, 5, min_rating=4)
        params = {"models": stack.model_ids[POPULAR]}
        default = (await client.get("/users/5/recommendations", params=params)).json()
        ids = [item["id"] for item in default["blocks"][0]["items"]]
        assert len(ids) == 25 and not liked.intersection(ids)
        kept = (
            await client.get(
                "/users/5/recommendations", params={**params, "exclude_rated": "false"}
            )
        ).json()
        assert liked.intersection(item["id"] for item in kept["blocks"][0]["items"])

    async def test_unknown_user(self, stack: Stack, client: httpx.AsyncClient) -> None:
        for exclude in ("true", "false"):
            response = await client.get(
                "/users/9999/recommendations",
                params={"models": stack.model_ids[PERSONAL], "exclude_rated": exclude},
            )
            assert response.status_code == 404
            assert "9999" in response.json()["detail"]

    async def test_unknown_model(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/users/1/recommendations", params={"models": "99999"})
        assert response.status_code == 404
        assert response.json() == {"detail": "model 99999 is not registered"}

    async def test_wrong_model_type(self, stack: Stack, client: httpx.AsyncClient) -> None:
        sims = stack.model_ids[SIMILAR]
        response = await client.get("/users/1/recommendations", params={"models": sims})
        assert response.status_code == 422
        assert response.json()["detail"] == (
            f"model {sims} ({SIMILAR}) is a similar-items model; "
            "this endpoint needs a recommendations model"
        )

    @pytest.mark.parametrize(
        ("params", "message"),
        [
            pytest.param({"models": "1,abc"}, "models: expected comma-separated", id="bad-ids"),
            pytest.param({}, "models: Field required", id="missing"),
            pytest.param({"models": "1", "num": "0"}, "num: Input should be greater", id="num"),
        ],
    )
    async def test_invalid(
        self, client: httpx.AsyncClient, params: dict[str, str], message: str
    ) -> None:
        response = await client.get("/users/1/recommendations", params=params)
        assert response.status_code == 422
        assert response.json()["detail"].startswith(message)


@pytest.fixture(scope="module")
async def catalog_excluding_client(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    """A second recommender with no EXCLUDE filter: it drops rated films itself."""
    env = recommender_env(
        catalog_url=stack.catalog_url,
        registry_url=stack.registry_url,
        engine_url=stack.engine_url,
    )
    with run_server("services.recommender.main:app", env=env, log_dir=stack.logs_dir) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            yield http


async def test_without_filter_every_rated_film_is_dropped(
    stack: Stack, catalog_excluding_client: httpx.AsyncClient, catalog: httpx.AsyncClient
) -> None:
    rated = await rated_ids(catalog, HEAVY_USER)
    for model in (PERSONAL, POPULAR):
        response = await catalog_excluding_client.get(
            f"/users/{HEAVY_USER}/recommendations", params={"models": stack.model_ids[model]}
        )
        assert response.status_code == 200, response.text
        ids = [item["id"] for item in response.json()["blocks"][0]["items"]]
        assert len(ids) == 25 and not rated.intersection(ids)
