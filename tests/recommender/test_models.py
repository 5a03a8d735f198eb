"""GET /models/summary and the health endpoints."""

from __future__ import annotations

import httpx

from tests.utils.stack import Stack

METRICS = {
    "coverage",
    "mean_reciprocal_rank_at_25",
    "normalized_discounted_cumulative_gain_at_5",
    "normalized_discounted_cumulative_gain_at_10",
    "normalized_discounted_cumulative_gain_at_25",
    "precision_at_5",
    "precision_at_10",
    "precision_at_25",
}


class TestModelsSummary:
    async def test_valid(self, stack: Stack, client: httpx.AsyncClient) -> None:
        response = await client.get("/models/summary")
        assert response.status_code == 200, response.text
        rows = response.json()["data"]
        registry = httpx.get(f"{stack.registry_url}/models").json()["data"]
        assert [r["id"] for r in rows] == [m["id"] for m in registry]
        for row in rows:
            assert row["error"] is None, row
            assert row["recipe"] and row["recipe"].startswith("aws-")
            assert set(row["metrics"]) == METRICS
            assert all(0.0 <= value <= 1.0 for value in row["metrics"].values())
        # Cached: the same figures come back.
        again = (await client.get("/models/summary")).json()["data"]
        assert [r["metrics"] for r in again] == [r["metrics"] for r in rows]


async def test_ready(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"catalog": "ok", "registry": "ok"}}
