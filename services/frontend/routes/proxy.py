"""`/api/<service>/<path>`: the same-origin API, proxied to the configured downstreams."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from services.frontend.config import API_PREFIX
from services.frontend.deps import ProxyDep

router = APIRouter(tags=["proxy"])

METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


@router.api_route(
    f"{API_PREFIX}/{{service}}/{{path:path}}",
    methods=METHODS,
    summary="Proxy to a downstream API",
    operation_id="proxy-forward",
    include_in_schema=False,
)
async def forward(service: str, path: str, request: Request, proxy: ProxyDep) -> Response:
    """Stream the request to `service` and its answer back (502/503 when it is down)."""
    del path  # the raw path is read from the request so that escapes survive
    return await proxy.forward(request, service)


@router.api_route(
    f"{API_PREFIX}/{{service}}",
    methods=METHODS,
    summary="Proxy to a downstream API root",
    operation_id="proxy-forward-root",
    include_in_schema=False,
)
async def forward_root(service: str, request: Request, proxy: ProxyDep) -> Response:
    """The service root (`/api/registry`), proxied like any other path."""
    return await proxy.forward(request, service)
