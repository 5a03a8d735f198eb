"""Register campaigns in the registry over its public HTTP API (docs/contracts.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from services.common.http import create_http_client

REGISTRY_TIMEOUT = httpx.Timeout(30.0, connect=5.0)


@dataclass(frozen=True)
class ModelSpec:
    """One registry entry the pipeline keeps in place."""

    name: str
    recipe: str
    type: str
    sort_order: int


# The recipe of the app's "Similar Items" model: the one that scored better on validation
# in `python -m bench.related_items` (its tuned configuration: pipeline.SOLUTION_CONFIGS).
SIMILAR_ITEMS_RECIPE = "aws-similar-items"

# Two recommendation models so the frontend can compare them side by side.
DEFAULT_MODELS = (
    ModelSpec("Personal Recommendations", "aws-user-personalization", "recommendations", 1),
    ModelSpec("HRNN Recommendations", "aws-hrnn", "recommendations", 2),
    ModelSpec("Popular Movies", "aws-popularity-count", "recommendations", 3),
    ModelSpec("Personal Ranking", "aws-personalized-ranking", "ranking", 1),
    ModelSpec("Similar Items", SIMILAR_ITEMS_RECIPE, "similar-items", 1),
)


class RegistryError(RuntimeError):
    pass


def _raise_for(response: httpx.Response, action: str) -> None:
    if response.is_success:
        return
    try:
        detail = response.json().get("detail")
    except ValueError:
        detail = response.text[:200]
    raise RegistryError(f"registry {action}: HTTP {response.status_code}: {detail}")


async def register_models(
    *, registry_url: str, api_token: str, specs: list[ModelSpec], campaign_arns: dict[str, str]
) -> dict[str, int]:
    """Create or update one model per spec; returns model ids by name."""
    headers = {"Authorization": f"Bearer {api_token}"}
    ids: dict[str, int] = {}
    async with create_http_client(
        registry_url, timeout=REGISTRY_TIMEOUT, headers=headers
    ) as client:
        response = await client.get("/models")
        _raise_for(response, "list models")
        existing: dict[str, dict[str, Any]] = {m["name"]: m for m in response.json()["data"]}
        for spec in specs:
            body = {
                "name": spec.name,
                "campaign_arn": campaign_arns[spec.recipe],
                "type": spec.type,
                "sort_order": spec.sort_order,
            }
            current = existing.get(spec.name)
            if current is None:
                response = await client.post("/models", json=body)
                _raise_for(response, f"create {spec.name!r}")
            elif any(current.get(k) != v for k, v in body.items()):
                response = await client.patch(f"/models/{current['id']}", json=body)
                _raise_for(response, f"update {spec.name!r}")
            else:
                ids[spec.name] = int(current["id"])
                continue
            ids[spec.name] = int(response.json()["id"])
    return ids
