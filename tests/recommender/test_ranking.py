"""GET /users/{id}/ranking: the catalog's popular films, re-ranked by a ranking campaign."""

from __future__ import annotations

import httpx
import pytest

from tests.recommender.conftest import PERSONAL, RANKING
from tests.utils.stack import Stack


class TestRanking:
    async def test_without_model(
        self, client: httpx.AsyncClient, catalog: httpx.AsyncClient
    ) -> None:
        response = await client.get("/users/5/ranking")
        assert response.status_code == 200, response.text
        body = response.json()
        expected = (await catalog.get("/movies/popular", params={"limit": 25})).json()["data"]
        assert body == {"user_id": 5, "genre": None, "popular": expected, "ranked": None}
        assert [m["id"] for m in expected[:3]] == [50, 100, 181]

    async def test_valid(self, stack: Stack, client: httpx.AsyncClient) -> None:
        model = stack.model_ids[RANKING]
        response = await client.get("/users/5/ranking", params={"model": model})
        assert response.status_code == 200, response.text
        body = response.json()
        ranked = body["ranked"]
        assert ranked["error"] is None and ranked["model"]["name"] == RANKING
        popular_ids = [m["id"] for m in body["popular"]]
        ranked_ids = [item["id"] for item in ranked["items"]]
        assert sorted(ranked_ids) == sorted(popular_ids) and len(ranked_ids) == 25
        scores = [item["score"] for item in ranked["items"]]
        assert all(s is not None for s in scores)
        assert scores == sorted(scores, reverse=True)
        assert sum(scores) == pytest.approx(1.0, abs=1e-3)
        assert "positive_reviews" not in ranked["items"][0]

    async def test_genre(self, stack: Stack, client: httpx.AsyncClient) -> None:
        response = await client.get(
            "/users/5/ranking", params={"model": stack.model_ids[RANKING], "genre": "film-noir"}
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["genre"] == "film-noir"
        assert 0 < len(body["popular"]) <= 25
        assert all("film-noir" in m["genres"] for m in body["popular"])
        assert {i["id"] for i in body["ranked"]["items"]} == {m["id"] for m in body["popular"]}

    async def test_unknown_genre(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/users/5/ranking", params={"genre": "western-noir"})
        assert response.status_code == 422
        assert response.json()["detail"].startswith("genre: unknown genre 'western-noir'")

    async def test_unknown_user(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/users/9999/ranking")
        assert response.status_code == 404
        assert "9999" in response.json()["detail"]

    async def test_wrong_model_type(self, stack: Stack, client: httpx.AsyncClient) -> None:
        response = await client.get("/users/5/ranking", params={"model": stack.model_ids[PERSONAL]})
        assert response.status_code == 422
        assert "this endpoint needs a ranking model" in response.json()["detail"]
