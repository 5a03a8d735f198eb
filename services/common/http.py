"""Shared httpx client construction for calls between services."""

from __future__ import annotations

import httpx

from services.common.logging import request_id_var

DEFAULT_TIMEOUT = httpx.Timeout(5.0, connect=2.0)
DEFAULT_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=50)


async def _forward_request_id(request: httpx.Request) -> None:
    # One request id follows a request across services.
    request_id = request_id_var.get()
    if request_id and "x-request-id" not in request.headers:
        request.headers["x-request-id"] = request_id


def create_http_client(
    base_url: str,
    *,
    timeout: httpx.Timeout = DEFAULT_TIMEOUT,
    limits: httpx.Limits = DEFAULT_LIMITS,
    headers: dict[str, str] | None = None,
) -> httpx.AsyncClient:
    """The one client a service keeps per downstream, created in its lifespan."""
    return httpx.AsyncClient(
        base_url=base_url.rstrip("/"),
        timeout=timeout,
        limits=limits,
        headers=headers,
        event_hooks={"request": [_forward_request_id]},
    )
