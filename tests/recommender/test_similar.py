"""GET /users/{id}/similar: SIMS around a seed film, optionally re-ranked for the user."""

from __future__ import annotations

import httpx

from tests.recommender.conftest import PERSONAL, RANKING, SIMILAR
from tests.utils.stack import Stack


class TestSimilar:
    async def test_seed_is_the_users_top_rated_film(
        self, stack: Stack, client: httpx.AsyncClient, catalog: httpx.AsyncClient
    ) -> None:
        top = (await catalog.get("/users/3/reviews", params={"limit": 1})).json()["data"][0]
        response = await client.get("/users/3/similar", params={"model": stack.model_ids[SIMILAR]})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["seed"] == top["movie"]
        assert body["reranked_by"] is None
        block = body["block"]
        assert block["error"] is None and block["model"]["recipe"] == "aws-similar-items"
        ids = [item["id"] for item in block["items"]]
        assert len(ids) == 25 and top["movie"]["id"] not in ids
        assert all(item["score"] is None for item in block["items"])
        assert all(item["title"] for item in block["items"])

    async def test_seed_item(self, stack: Stack, client: httpx.AsyncClient) -> None:
        response = await client.get(
            "/users/3/similar", params={"model": stack.model_ids[SIMILAR], "item": 1, "num": 10}
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["seed"]["id"] == 1 and body["seed"]["title"] == "Toy Story"
        assert len(body["block"]["items"]) == 10

    async def test_rerank(self, stack: Stack, client: httpx.AsyncClient) -> None:
        params = {"model": stack.model_ids[SIMILAR], "item": 50}
        plain = (await client.get("/users/3/similar", params=params)).json()
        response = await client.get("/users/3/similar", params={**params, "rerank": "true"})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["reranked_by"] == {
            "id": stack.model_ids[RANKING],
            "name": RANKING,
            "type": "ranking",
            "recipe": "aws-personalized-ranking",
        }
        reranked = body["block"]["items"]
        assert {i["id"] for i in reranked} == {i["id"] for i in plain["block"]["items"]}
        scores = [i["score"] for i in reranked if i["score"] is not None]
        assert scores and scores == sorted(scores, reverse=True)

    async def test_unknown_item(self, stack: Stack, client: httpx.AsyncClient) -> None:
        response = await client.get(
            "/users/3/similar", params={"model": stack.model_ids[SIMILAR], "item": 99999}
        )
        assert response.status_code == 404
        assert "99999" in response.json()["detail"]

    async def test_unknown_user(self, stack: Stack, client: httpx.AsyncClient) -> None:
        for extra in ({}, {"item": 1}):
            response = await client.get(
                "/users/9999/similar", params={"model": stack.model_ids[SIMILAR], **extra}
            )
            assert response.status_code == 404
            assert "9999" in response.json()["detail"]

    async def test_wrong_model_type(self, stack: Stack, client: httpx.AsyncClient) -> None:
        response = await client.get("/users/3/similar", params={"model": stack.model_ids[PERSONAL]})
        assert response.status_code == 422
        assert "needs a similar-items model" in response.json()["detail"]

    async def test_model_required(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/users/3/similar")
        assert response.status_code == 422
        assert response.json()["detail"].startswith("model: Field required")
