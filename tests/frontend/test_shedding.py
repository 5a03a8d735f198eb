"""The shed limit counts requests the process works on, not those waiting for their
client to send a body: driven through ASGI, with the shared middleware's body deadline
inside it as in the web app (the real-process replay is in test_overload.py)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request

from services.common import BaseServiceSettings, create_app
from services.frontend.shedding import LoadShedding

TIMEOUT = 0.2
router = APIRouter()
release = asyncio.Event()


@router.post("/read")
async def read(request: Request) -> dict[str, int]:
    body = await request.body()
    await release.wait()  # work on it for as long as the test says
    return {"bytes": len(body)}


@router.get("/fast")
async def fast() -> dict[str, bool]:
    return {"fast": True}


def _shedding(limit: int) -> LoadShedding:
    settings = BaseServiceSettings(ENVIRONMENT="test", REQUEST_BODY_TIMEOUT_SECONDS=TIMEOUT)
    app = create_app(service="shed", settings=settings, routers=[router])
    return LoadShedding(app, limit=limit, metrics=app.state.metrics)


def _scope(method: str, path: str, length: int | None = None) -> dict[str, Any]:
    headers = [(b"host", b"test")]
    if length is not None:
        headers.append((b"content-length", str(length).encode()))
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("test", 80),
    }


def _client(*bodies: bytes, more: bool = True) -> Any:
    """Sends `bodies` (the last one ends the body unless `more`), then nothing ever."""
    queue = list(bodies)

    async def receive() -> dict[str, Any]:
        if queue:
            body = queue.pop(0)
            return {"type": "http.request", "body": body, "more_body": more or bool(queue)}
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    return receive


class Sent(list[dict[str, Any]]):
    async def __call__(self, message: dict[str, Any]) -> None:
        self.append(message)

    @property
    def status(self) -> int:
        return int(self[0]["status"])


async def test_requests_waiting_for_their_bodies_hold_no_slot() -> None:
    shedding = _shedding(limit=2)
    answers = [Sent() for _ in range(10)]
    stalled = [
        asyncio.ensure_future(shedding(_scope("POST", "/read", 100), _client(b"a"), sent))
        for sent in answers
    ]
    await asyncio.sleep(TIMEOUT / 4)
    assert shedding.in_flight == 0  # ten requests in, none of them at work
    for _ in range(3):  # served meanwhile, one after another
        page = Sent()
        await shedding(_scope("GET", "/fast"), _client(), page)
        assert page.status == 200
    await asyncio.gather(*stalled)
    assert [sent.status for sent in answers] == [408] * 10
    assert shedding.in_flight == 0  # the deadline gave every slot back


async def test_a_request_counts_while_it_is_worked_on() -> None:
    """Once its body is in, a request counts until it is answered, and the limit holds."""
    shedding = _shedding(limit=1)
    release.clear()
    first = Sent()
    working = asyncio.ensure_future(
        shedding(_scope("POST", "/read", 2), _client(b"{}", more=False), first)
    )
    await asyncio.sleep(TIMEOUT / 4)
    assert shedding.in_flight == 1
    refused = Sent()
    await shedding(_scope("GET", "/fast"), _client(), refused)
    assert refused.status == 503
    release.set()
    await working
    assert first.status == 200
    assert shedding.in_flight == 0
