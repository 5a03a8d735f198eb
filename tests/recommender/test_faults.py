"""Failure isolation with real parts: a stalled campaign, a stopped engine, a deleted
campaign, and the catalog or registry down.

This module runs its own catalog, registry and recommender (CAMPAIGN_TIMEOUT_SECONDS=1)
so it can stop them without disturbing other tests; the recommender reaches the shared
engine through `StallProxy`, which can hold back the calls of one chosen campaign.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest

from services.common.aws import client_kwargs
from tests.recommender.conftest import (
    PERSONAL,
    POPULAR,
    RANKING,
    RECIPES,
    load_catalog,
    recommender_env,
    registry_env,
)
from tests.recommender.stall_proxy import StallProxy
from tests.utils.servers import RunningServer, free_port, run_server
from tests.utils.stack import Stack

TIMEOUT = 1.0
# Time a request may take beyond the campaign timeout (enrichment, scheduling, a busy CI box).
MARGIN = 0.75


@dataclass
class Faults:
    stack: Stack
    proxy: StallProxy
    servers: ExitStack
    catalog: RunningServer
    registry: RunningServer
    catalog_env: dict[str, str]
    registry_env: dict[str, str]
    api_token: str
    model_ids: dict[str, int]
    client: httpx.AsyncClient

    def restart(self, name: str) -> None:
        """Start the stopped catalog or registry again, on the same port."""
        old: RunningServer = getattr(self, name)
        env = self.catalog_env if name == "catalog" else self.registry_env
        server = self.servers.enter_context(
            run_server(
                f"services.{name}.main:app", env=env, log_dir=self.stack.logs_dir, port=old.port
            )
        )
        setattr(self, name, server)


def _register(registry_url: str, token: str, body: dict[str, Any]) -> int:
    response = httpx.post(
        f"{registry_url}/models",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


@pytest.fixture(scope="module")
def _fault_servers() -> Iterator[ExitStack]:
    with ExitStack() as servers:
        yield servers


@pytest.fixture(scope="module")
async def faults(
    stack: Stack,
    _fault_servers: ExitStack,
    tmp_path_factory: pytest.TempPathFactory,
    movielens_dir: Path,
    posters_file: Path,
) -> AsyncIterator[Faults]:
    tmp = tmp_path_factory.mktemp("recommender-faults")
    catalog_env = {
        "ENVIRONMENT": "test",
        "DATABASE_URL": await load_catalog(tmp, movielens_dir, posters_file),
    }
    catalog = _fault_servers.enter_context(
        run_server(
            "services.catalog.main:app", env=catalog_env, log_dir=stack.logs_dir, port=free_port()
        )
    )
    token = secrets.token_urlsafe(24)
    reg_env = registry_env(tmp, stack.engine_url, token)
    registry = _fault_servers.enter_context(
        run_server(
            "services.registry.main:app", env=reg_env, log_dir=stack.logs_dir, port=free_port()
        )
    )
    arns = stack.campaign_arns
    model_ids = {
        name: _register(
            registry.url,
            token,
            {"name": name, "campaign_arn": arns[RECIPES[name]], "type": kind, "sort_order": order},
        )
        for name, kind, order in (
            (PERSONAL, "recommendations", 1),
            (POPULAR, "recommendations", 2),
            (RANKING, "ranking", 1),
        )
    }
    engine = httpx.URL(stack.engine_url)
    proxy = StallProxy(engine.host, engine.port or 80)
    await proxy.start()
    env = recommender_env(
        catalog_url=catalog.url,
        registry_url=registry.url,
        engine_url=proxy.url,
        CAMPAIGN_TIMEOUT_SECONDS=str(TIMEOUT),
        MODELS_CACHE_SECONDS="1",
    )
    recommender = _fault_servers.enter_context(
        run_server("services.recommender.main:app", env=env, log_dir=stack.logs_dir)
    )
    async with httpx.AsyncClient(base_url=recommender.url, timeout=30) as client:
        yield Faults(
            stack,
            proxy,
            _fault_servers,
            catalog,
            registry,
            catalog_env,
            reg_env,
            token,
            model_ids,
            client,
        )
    await proxy.close()


async def _timed_get(
    client: httpx.AsyncClient, url: str, **params: Any
) -> tuple[httpx.Response, float]:
    started = time.perf_counter()
    response = await client.get(url, params=params)
    return response, time.perf_counter() - started


async def test_one_stalled_campaign_leaves_the_other_block(faults: Faults) -> None:
    personal, popular = faults.model_ids[PERSONAL], faults.model_ids[POPULAR]
    models = f"{personal},{popular}"
    warm, _ = await _timed_get(faults.client, "/users/21/recommendations", models=models)
    assert all(b["error"] is None for b in warm.json()["blocks"])

    async with faults.proxy.stalling(faults.stack.campaign_arns[RECIPES[PERSONAL]]):
        response, elapsed = await _timed_get(
            faults.client, "/users/21/recommendations", models=models
        )
    assert response.status_code == 200, response.text
    stalled, alive = response.json()["blocks"]
    assert stalled["model"]["id"] == personal
    assert stalled["error"] == "GetRecommendations: no answer within 1 s"
    assert stalled["items"] == []
    assert stalled["elapsed_ms"] >= TIMEOUT * 1000 * 0.95
    assert alive["error"] is None and len(alive["items"]) == 25
    assert alive["elapsed_ms"] < TIMEOUT * 1000
    assert faults.proxy.held >= 1
    assert TIMEOUT <= elapsed < TIMEOUT + MARGIN, f"request took {elapsed:.3f} s"


async def test_stalled_ranking_still_shows_the_popular_films(faults: Faults) -> None:
    model = faults.model_ids[RANKING]
    async with faults.proxy.stalling(faults.stack.campaign_arns[RECIPES[RANKING]]):
        response, elapsed = await _timed_get(faults.client, "/users/21/ranking", model=model)
    assert response.status_code == 200, response.text
    body = response.json()
    assert len(body["popular"]) == 25
    assert body["ranked"]["error"] == "GetPersonalizedRanking: no answer within 1 s"
    assert TIMEOUT <= elapsed < TIMEOUT + MARGIN, f"request took {elapsed:.3f} s"


async def test_stopped_engine_fails_every_block_within_the_timeout(faults: Faults) -> None:
    models = f"{faults.model_ids[PERSONAL]},{faults.model_ids[POPULAR]}"
    await _timed_get(faults.client, "/users/22/recommendations", models=models)  # warm caches
    pid = faults.stack.children["engine"].process.pid
    os.kill(pid, signal.SIGSTOP)
    try:
        response, elapsed = await _timed_get(
            faults.client, "/users/22/recommendations", models=models
        )
    finally:
        os.kill(pid, signal.SIGCONT)
    assert response.status_code == 200, response.text
    blocks = response.json()["blocks"]
    assert [b["error"] for b in blocks] == ["GetRecommendations: no answer within 1 s"] * 2
    assert TIMEOUT <= elapsed < TIMEOUT + MARGIN, f"request took {elapsed:.3f} s"
    # The engine answers again once it runs.
    after, _ = await _timed_get(faults.client, "/users/22/recommendations", models=models)
    assert all(b["error"] is None for b in after.json()["blocks"])


def _personalize(stack: Stack) -> Any:
    return boto3.client("personalize", **client_kwargs(stack.personalize_aws()))


def _campaign_status(client: Any, arn: str) -> str | None:
    try:
        return str(client.describe_campaign(campaignArn=arn)["campaign"]["status"])
    except client.exceptions.ResourceNotFoundException:
        return None


def _wait_campaign(client: Any, arn: str, until: str | None, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while (status := _campaign_status(client, arn)) != until:
        assert status != "CREATE FAILED", f"campaign {arn} failed"
        assert time.monotonic() < deadline, f"campaign {arn} still {status}"
        time.sleep(0.1)


async def test_deleted_campaign_fails_only_its_block(faults: Faults) -> None:
    client = _personalize(faults.stack)
    source = client.describe_campaign(campaignArn=faults.stack.campaign_arns[RECIPES[POPULAR]])
    arn = client.create_campaign(
        name=f"doomed-{uuid.uuid4().hex[:8]}",
        solutionVersionArn=source["campaign"]["solutionVersionArn"],
        minProvisionedTPS=1,
    )["campaignArn"]
    await asyncio.to_thread(_wait_campaign, client, arn, "ACTIVE")
    doomed = _register(
        faults.registry.url,
        faults.api_token,
        {"name": "Doomed", "campaign_arn": arn, "type": "recommendations", "sort_order": 9},
    )
    try:
        client.delete_campaign(campaignArn=arn)
        await asyncio.to_thread(_wait_campaign, client, arn, None)
        response, elapsed = await _timed_get(
            faults.client,
            "/users/30/recommendations",
            models=f"{doomed},{faults.model_ids[PERSONAL]}",
        )
    finally:
        httpx.delete(
            f"{faults.registry.url}/models/{doomed}",
            headers={"Authorization": f"Bearer {faults.api_token}"},
        )
    assert response.status_code == 200, response.text
    gone, alive = response.json()["blocks"]
    assert gone["items"] == []
    assert gone["error"].startswith("GetRecommendations failed: ResourceNotFoundException")
    assert alive["error"] is None and len(alive["items"]) == 25
    assert elapsed < TIMEOUT


async def test_catalog_down_is_503(faults: Faults) -> None:
    faults.catalog.stop(signal.SIGKILL)
    try:
        models = str(faults.model_ids[PERSONAL])
        for path, params in (
            ("/users/1/recommendations", {"models": models}),
            ("/users/1/recommendations", {"models": models, "exclude_rated": "false"}),
            ("/users/1/ranking", {}),
        ):
            response = await faults.client.get(path, params=params)
            assert response.status_code == 503, response.text
            assert response.json()["detail"].startswith("catalog unavailable")
        ready = await faults.client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["catalog"].startswith("catalog unreachable")
    finally:
        faults.restart("catalog")
    response = await faults.client.get("/users/1/ranking")
    assert response.status_code == 200


async def test_registry_down_answers_from_the_last_model_list(faults: Faults) -> None:
    """Known models keep answering (the list the registry last gave); an id not in it is
    a 503, since the registry cannot say whether it is new."""
    params = {"models": faults.model_ids[PERSONAL]}
    assert (await faults.client.get("/users/1/recommendations", params=params)).is_success
    faults.registry.stop(signal.SIGKILL)
    try:
        await asyncio.sleep(1.1)  # MODELS_CACHE_SECONDS
        response = await faults.client.get("/users/1/recommendations", params=params)
        assert response.status_code == 200, response.text
        assert response.json()["blocks"][0]["error"] is None
        response = await faults.client.get(
            "/users/1/recommendations", params={"models": 999_999}
        )
        assert response.status_code == 503
        assert response.json()["detail"].startswith("registry unavailable (model list)")
    finally:
        faults.restart("registry")
    response = await faults.client.get(
        "/users/1/recommendations", params={"models": faults.model_ids[PERSONAL]}
    )
    assert response.status_code == 200
