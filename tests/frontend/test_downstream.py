"""The proxy's per-downstream gate and pools (services/frontend/downstream.py), in-process."""

from __future__ import annotations

import time

import httpx
import pytest

from services.common.errors import UpstreamUnavailable
from services.frontend.downstream import POOL_SIZE, QUEUE_SECONDS, Downstream


def _mock(max_concurrency: int, pools: int) -> Downstream:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"path": request.url.path})

    clients = [
        httpx.AsyncClient(transport=httpx.MockTransport(answer), base_url="http://x")
        for _ in range(pools)
    ]
    return Downstream("catalog", "http://x", max_concurrency, clients)


@pytest.mark.parametrize(("concurrency", "pools"), [(64, 64 // POOL_SIZE), (2, 1), (10, 2)])
async def test_connections_are_split_into_small_pools(concurrency: int, pools: int) -> None:
    downstream = Downstream.open(
        "catalog", "http://127.0.0.1:9", timeout=httpx.Timeout(1), max_concurrency=concurrency
    )
    try:
        assert len(downstream.clients) == pools
        assert downstream.base_url == "http://127.0.0.1:9"
    finally:
        await downstream.aclose()


async def test_requests_go_to_the_least_busy_pool_and_free_their_slot_once() -> None:
    downstream = _mock(max_concurrency=4, pools=2)
    url = httpx.URL("/x")
    first, _ = await downstream.exchange("GET", url, headers=[], content=None)
    second, _ = await downstream.exchange("GET", url, headers=[], content=None)
    assert downstream.in_flight == [1, 1]
    first()
    first()  # idempotent: a slot is given back once
    assert downstream.in_flight == [0, 1]
    third, _ = await downstream.exchange("GET", url, headers=[], content=None)
    assert downstream.in_flight == [1, 1]
    second()
    third()
    assert downstream.in_flight == [0, 0]
    assert not downstream.gate.locked()


async def test_a_full_gate_refuses_after_a_short_wait() -> None:
    downstream = _mock(max_concurrency=1, pools=1)
    release, _ = await downstream.exchange("GET", httpx.URL("/x"), headers=[], content=None)
    started = time.monotonic()
    with pytest.raises(UpstreamUnavailable) as refused:
        await downstream.exchange("GET", httpx.URL("/x"), headers=[], content=None)
    assert QUEUE_SECONDS <= time.monotonic() - started < QUEUE_SECONDS + 0.5
    assert refused.value.headers == {"Retry-After": "1"}
    assert downstream.waiting == 0
    release()
    again, response = await downstream.exchange("GET", httpx.URL("/y"), headers=[], content=None)
    assert response.status_code == 200
    again()
