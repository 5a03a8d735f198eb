"""Personalize calls carry the current request id (services/common/aws.py)."""

from __future__ import annotations

from contextlib import AsyncExitStack

from aiohttp import web
from botocore.awsrequest import AWSRequest

from services.common.aws import AwsSettings, forward_request_id, open_clients
from services.common.logging import request_id_var
from tests.utils.credentials import ENGINE_ACCESS_KEY_ID, ENGINE_SECRET_ACCESS_KEY


def _request() -> AWSRequest:
    return AWSRequest(method="POST", url="http://127.0.0.1:1/", headers={})


def test_current_request_id_is_added() -> None:
    token = request_id_var.set("req-123")
    try:
        request = _request()
        forward_request_id(request)
        assert request.headers["X-Request-ID"] == "req-123"
    finally:
        request_id_var.reset(token)


def test_outside_a_request_nothing_is_added() -> None:
    request = _request()
    forward_request_id(request)
    assert "X-Request-ID" not in request.headers


async def test_clients_from_open_clients_send_it() -> None:
    """A real round trip: a tiny aiohttp server records the header botocore sent."""
    seen: list[str | None] = []

    async def handle(request: web.Request) -> web.Response:
        seen.append(request.headers.get("X-Request-ID"))
        return web.Response(body=b'{"recipes": []}', content_type="application/x-amz-json-1.1")

    app = web.Application()
    app.router.add_post("/", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        async with AsyncExitStack() as stack:
            aws = AwsSettings(
                endpoint_url=f"http://127.0.0.1:{port}",
                max_attempts=1,
                access_key_id=ENGINE_ACCESS_KEY_ID,
                secret_access_key=ENGINE_SECRET_ACCESS_KEY,
            )
            client = (await open_clients(stack, aws, "personalize"))["personalize"]
            token = request_id_var.set("req-456")
            try:
                await client.list_recipes()
            finally:
                request_id_var.reset(token)
            await client.list_recipes()
    finally:
        await runner.cleanup()
    assert seen == ["req-456", None]
