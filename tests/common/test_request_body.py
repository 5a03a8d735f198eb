"""The shared middleware's handling of request bodies, driven through ASGI directly: a
body that stops coming is a 408 that closes the connection once REQUEST_BODY_TIMEOUT_SECONDS
have passed, and only waiting for body bytes is timed; a request whose client left before
any answer is recorded as 499, never as a 500."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
from fastapi import APIRouter, Request
from prometheus_client import CollectorRegistry
from pydantic import BaseModel
from starlette.requests import Request as StarletteRequest
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.common import BaseServiceSettings, create_app
from services.common.middleware import Metrics, RequestContextMiddleware

TIMEOUT = 0.2  # seconds; sweeps every 0.05 s
SLACK = 0.5  # for a busy test machine
router = APIRouter()


class Item(BaseModel):
    name: str


@router.post("/read")
async def read(request: Request) -> dict[str, int]:
    return {"bytes": len(await request.body())}


@router.post("/item")
async def item(body: Item) -> dict[str, str]:
    return {"name": body.name}


def _app(timeout: float = TIMEOUT) -> Any:
    settings = BaseServiceSettings(ENVIRONMENT="test", REQUEST_BODY_TIMEOUT_SECONDS=timeout)
    return create_app(service="body", settings=settings, routers=[router])


def _middleware(app: ASGIApp) -> RequestContextMiddleware:
    return RequestContextMiddleware(
        app, metrics=Metrics(CollectorRegistry()), access_log=False, body_timeout=TIMEOUT
    )


def _scope(path: str = "/read", length: int = 100) -> Scope:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"test"),
            (b"content-type", b"application/json"),
            (b"content-length", str(length).encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("test", 80),
    }


def _client(*messages: Message | float) -> Receive:
    """What the client sends: the messages in turn (a number: a pause of that many
    seconds first), then nothing ever again."""
    queue = list(messages)

    async def receive() -> Message:
        while queue:
            item = queue.pop(0)
            if isinstance(item, float):
                await asyncio.sleep(item)
                continue
            return item
        await asyncio.Event().wait()  # a client that sends nothing more
        raise AssertionError("unreachable")

    return receive


def _chunk(body: bytes, more: bool = True) -> Message:
    return {"type": "http.request", "body": body, "more_body": more}


DISCONNECT: Message = {"type": "http.disconnect"}


class Sent:
    """What the app sent back."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def __call__(self, message: Message) -> None:
        self.messages.append(message)

    @property
    def status(self) -> int:
        return int(self.messages[0]["status"])

    @property
    def headers(self) -> dict[str, str]:
        return {k.decode(): v.decode() for k, v in self.messages[0]["headers"]}

    def json(self) -> Any:
        return json.loads(b"".join(m.get("body", b"") for m in self.messages[1:]))


def _count(metrics: Metrics, status: int, route: str = "unmatched") -> float:
    labels = {"method": "POST", "route": route, "status": str(status)}
    return metrics.registry.get_sample_value("http_requests_total", labels) or 0.0


async def test_a_body_that_stops_coming_is_a_408_that_closes_the_connection() -> None:
    app = _app()
    sent = Sent()
    started = time.perf_counter()
    await app(_scope(), _client(_chunk(b"{")), sent)
    elapsed = time.perf_counter() - started
    assert sent.status == 408
    assert sent.headers["connection"] == "close"
    assert sent.json() == {
        "detail": "request body not received in time: the whole body must arrive within "
        f"{TIMEOUT:g} seconds of the request headers"
    }
    assert TIMEOUT <= elapsed < TIMEOUT * 1.25 + SLACK
    assert _count(app.state.metrics, 408, "/read") == 1


async def test_a_trickle_of_bytes_does_not_keep_a_request_open() -> None:
    """The deadline runs from the headers, not from the last byte: a client cannot keep a
    request open by sending a byte now and then."""
    app = _app()
    sent = Sent()
    trickle = [m for _ in range(20) for m in (TIMEOUT / 8, _chunk(b" "))]
    started = time.perf_counter()
    await app(_scope(length=100), _client(*trickle), sent)
    assert sent.status == 408
    assert time.perf_counter() - started < TIMEOUT * 1.25 + SLACK


async def test_a_slow_body_that_arrives_in_time_is_read() -> None:
    app = _app()
    sent = Sent()
    chunks = [m for _ in range(4) for m in (TIMEOUT / 10, _chunk(b"x" * 25))]
    await app(_scope(length=100), _client(*chunks[:-1], _chunk(b"x" * 25, more=False)), sent)
    assert sent.status == 200
    assert sent.json() == {"bytes": 100}


async def test_waiting_after_the_body_is_not_timed() -> None:
    """Once the body is in, `receive` is how an app watches for a disconnect (the proxy
    does, for as long as a downstream takes): that wait has no deadline."""
    seen: list[str] = []

    async def watcher(scope: Scope, receive: Receive, send: Send) -> None:
        while (await receive()).get("more_body"):
            pass
        seen.append((await receive())["type"])  # a disconnect, long after the deadline

    middleware = _middleware(watcher)
    client = _client(_chunk(b"{}", more=False), TIMEOUT * 3, DISCONNECT)
    await middleware(_scope(length=2), client, Sent())
    assert seen == ["http.disconnect"]
    assert _count(middleware.metrics, 499) == 1


async def test_a_request_without_a_body_may_wait_for_as_long_as_it_likes() -> None:
    seen: list[str] = []

    async def watcher(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append((await receive())["type"])

    scope = _scope()
    scope["headers"] = [(b"host", b"test")]
    await _middleware(watcher)(scope, _client(TIMEOUT * 3, DISCONNECT), Sent())
    assert seen == ["http.disconnect"]


async def test_someone_elses_cancellation_stays_a_cancellation() -> None:
    """Shutting the server down cancels a request waiting for its body: that is no 408."""
    app = _app()
    task = asyncio.ensure_future(app(_scope(), _client(_chunk(b"{")), Sent()))
    await asyncio.sleep(TIMEOUT / 4)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def test_the_deadline_holds_on_each_new_event_loop() -> None:
    """One app, several event loops in turn (as tests make them): a loop that closed with
    sweeps still scheduled does not leave the next one without them."""
    middleware = _middleware(_reader)
    for _ in range(3):
        asyncio.run(middleware(_scope(length=2), _client(_chunk(b"{}", more=False)), Sent()))
        sent = Sent()
        asyncio.run(
            asyncio.wait_for(middleware(_scope(), _client(_chunk(b"{")), sent), TIMEOUT * 10)
        )
        assert sent.status == 408


async def _reader(scope: Scope, receive: Receive, send: Send) -> None:
    body = await StarletteRequest(scope, receive).body()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"%d" % len(body)})


# --- clients that leave ------------------------------------------------------------------


async def _returns_silently(scope: Scope, receive: Receive, send: Send) -> None:
    """An app that returns without an answer when its client leaves mid-body."""
    while (message := await receive())["type"] == "http.request":
        if not message.get("more_body"):
            break


@pytest.mark.parametrize(
    "app", [_returns_silently, _reader], ids=["returns-silently", "lets-ClientDisconnect-out"]
)
async def test_a_client_that_leaves_mid_body_is_a_499(app: ASGIApp) -> None:
    middleware = _middleware(app)
    sent = Sent()
    await middleware(_scope(), _client(_chunk(b"abc"), DISCONNECT), sent)
    assert sent.messages == []  # nobody to answer
    assert _count(middleware.metrics, 499) == 1
    assert _count(middleware.metrics, 500) == 0


async def test_an_answer_to_a_client_that_left_is_a_499() -> None:
    """FastAPI answers a body that broke off with a 400 ("error parsing the body"); the
    client is gone, so that is not what happened to it."""
    app = _app()
    await app(_scope("/item"), _client(_chunk(b'{"na'), DISCONNECT), Sent())
    assert _count(app.state.metrics, 499, "/item") == 1
    assert _count(app.state.metrics, 400, "/item") == 0


# --- a gate before the app (the engine's signature check) --------------------------------


class _BufferingGate:
    """Checks the whole body as the engine's gate does; refuses one that says "no"."""

    def check_headers(self, scope: Scope) -> object:
        return "read the body"  # a note: every request's body is checked

    def check_body(self, scope: Scope, checked: object, body: bytes) -> Response | None:
        assert checked == "read the body"
        return Response("refused", status_code=403) if body == b"no" else None


def _gated(app: ASGIApp) -> RequestContextMiddleware:
    return RequestContextMiddleware(
        app,
        metrics=Metrics(CollectorRegistry()),
        access_log=False,
        body_timeout=TIMEOUT,
        gate=_BufferingGate(),
    )


async def test_a_gate_hands_the_app_the_body_it_read() -> None:
    middleware = _gated(_reader)
    sent = Sent()
    await middleware(_scope(length=5), _client(_chunk(b"ab"), _chunk(b"cde", more=False)), sent)
    assert sent.status == 200
    assert sent.messages[1]["body"] == b"5"


async def test_a_gate_refusal_is_answered_and_counted_and_the_app_never_runs() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise AssertionError("the app was reached")

    middleware = _gated(app)
    sent = Sent()
    await middleware(_scope(length=2), _client(_chunk(b"no", more=False)), sent)
    assert sent.status == 403
    assert sent.headers["x-request-id"]
    assert _count(middleware.metrics, 403) == 1


async def test_a_body_the_gate_waits_for_in_vain_is_a_408() -> None:
    sent = Sent()
    middleware = _gated(_reader)
    await middleware(_scope(), _client(_chunk(b"{")), sent)
    assert sent.status == 408
    assert sent.headers["connection"] == "close"
    assert _count(middleware.metrics, 408) == 1


async def test_a_client_that_leaves_while_the_gate_reads_is_a_499() -> None:
    middleware = _gated(_reader)
    sent = Sent()
    await middleware(_scope(), _client(_chunk(b"abc"), DISCONNECT), sent)
    assert sent.messages == []
    assert _count(middleware.metrics, 499) == 1
