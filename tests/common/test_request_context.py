"""X-Request-ID: echoed or generated, in every log line of the request, forwarded downstream."""

from __future__ import annotations

import http.server
import json
import logging
import re
import threading
from collections.abc import Iterator

import httpx
import pytest
from fastapi import APIRouter

from services.common import BaseServiceSettings, create_app
from services.common.http import create_http_client
from services.common.logging import request_id_var
from services.common.middleware import new_request_id

router = APIRouter()
logger = logging.getLogger("tests.handler")


@router.get("/work")
async def work() -> dict[str, str | None]:
    logger.info("doing work", extra={"step": 1})
    return {"seen": request_id_var.get()}


def make_client() -> httpx.AsyncClient:
    app = create_app(
        service="ctx", settings=BaseServiceSettings(ENVIRONMENT="test"), routers=[router]
    )
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ctx")


def log_lines(err: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in err.splitlines() if line.startswith("{")]


async def test_incoming_id_is_echoed_and_logged(capsys: pytest.CaptureFixture[str]) -> None:
    async with make_client() as client:
        response = await client.get("/work", headers={"X-Request-ID": "req-42.a:b"})
    assert response.headers["x-request-id"] == "req-42.a:b"
    assert response.json() == {"seen": "req-42.a:b"}
    lines = {line["logger"]: line for line in log_lines(capsys.readouterr().err)}
    handler, access = lines["tests.handler"], lines["videorecs.access"]
    assert handler["request_id"] == access["request_id"] == "req-42.a:b"
    assert (handler["service"], handler["severity"], handler["step"]) == ("ctx", "INFO", 1)
    assert access["message"] == "GET /work 200" and access["status"] == 200
    assert request_id_var.get() is None  # reset after the request


@pytest.mark.parametrize("incoming", [None, "has spaces", "x" * 129, "semi;colon"])
async def test_missing_or_unsafe_id_is_replaced(incoming: str | None) -> None:
    headers = {"x-request-id": incoming} if incoming else {}
    async with make_client() as client:
        response = await client.get("/work", headers=headers)
        other = await client.get("/work", headers=headers)
    generated = response.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)
    assert response.json() == {"seen": generated}
    assert other.headers["x-request-id"] != generated


@pytest.fixture
def echo_server() -> Iterator[str]:
    """A real HTTP server on loopback that answers with the request headers it got."""

    class Echo(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps({k.lower(): v for k, v in self.headers.items()}).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


async def test_http_client_forwards_the_request_id(echo_server: str) -> None:
    async with create_http_client(echo_server) as client:
        assert "x-request-id" not in (await client.get("/")).json()
        token = request_id_var.set("upstream-7")
        try:
            assert (await client.get("/")).json()["x-request-id"] == "upstream-7"
            # An explicit header wins over the context.
            sent = await client.get("/", headers={"x-request-id": "explicit"})
            assert sent.json()["x-request-id"] == "explicit"
        finally:
            request_id_var.reset(token)


async def test_id_headers_repeat_the_request_id() -> None:
    app = create_app(
        service="ctx",
        settings=BaseServiceSettings(ENVIRONMENT="test"),
        routers=[router],
        id_headers=["x-amzn-RequestId"],
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://ctx") as client:
        given = await client.get("/work", headers={"X-Request-ID": "req-7"})
        generated = await client.get("/work")
    assert given.headers["x-amzn-requestid"] == given.headers["x-request-id"] == "req-7"
    assert generated.headers["x-amzn-requestid"] == generated.headers["x-request-id"]


def test_generated_ids_are_unique_hex() -> None:
    ids = [new_request_id() for _ in range(10_000)]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)
