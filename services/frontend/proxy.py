"""A streaming reverse proxy from `/api/<service>/<path>` to one downstream service.

In docker-compose nginx routes these prefixes; in the one-machine mode and in tests
this process does it, so the browser only ever talks to one origin (cookies of the
registry's admin pages included). Written by hand because it is ~100 lines on top of
httpx and no maintained library fits an ASGI app with per-service clients.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
from fastapi import Request
from starlette.responses import StreamingResponse

from services.common.errors import BadGateway, NotFound, UpstreamUnavailable
from services.common.http import DEFAULT_LIMITS, create_http_client
from services.frontend.config import SERVICES

logger = logging.getLogger(__name__)

# Hop-by-hop headers (RFC 9110 section 7.6.1) never cross a proxy; `host` is the downstream's own.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
    }
)
# Set by the proxy itself: the forwarding headers from what it knows about the client,
# the request id by the shared client's hook (the validated id of this request).
FORWARDED = frozenset(
    {
        "x-forwarded-for",
        "x-forwarded-proto",
        "x-forwarded-host",
        "x-forwarded-prefix",
        "x-request-id",
    }
)
# Bodies go through untouched (httpx would otherwise decompress them and the
# content-length would no longer match), so the browser decodes them. uvicorn adds its
# own date and server headers.
RESPONSE_DROP = HOP_BY_HOP | {"content-length", "date", "server"}


@dataclass
class Proxy:
    """One shared httpx client per configured downstream, opened in the lifespan."""

    urls: dict[str, str]
    public_prefix: str
    timeout: httpx.Timeout
    clients: dict[str, httpx.AsyncClient] = field(default_factory=dict)

    async def open(self) -> None:
        for name, url in self.urls.items():
            self.clients[name] = create_http_client(
                url, timeout=self.timeout, limits=DEFAULT_LIMITS
            )

    async def aclose(self) -> None:
        for client in self.clients.values():
            await client.aclose()
        self.clients.clear()

    def prefix_of(self, service: str) -> str:
        return f"{self.public_prefix}/{service}"

    async def forward(self, request: Request, service: str) -> StreamingResponse:
        """Send `request` to `service` and stream its answer back."""
        client = self.clients.get(service)
        if client is None:
            if service in SERVICES:
                raise UpstreamUnavailable(f"{service} is not configured on this server")
            raise NotFound(f"no API named {service!r}")
        prefix = self.prefix_of(service)
        upstream_request = client.build_request(
            request.method,
            httpx.URL(path=_downstream_path(request, prefix), query=request.scope["query_string"]),
            headers=_request_headers(request, prefix),
            content=request.stream() if _has_body(request) else None,
        )
        try:
            upstream = await client.send(upstream_request, stream=True)
        except httpx.ConnectError as exc:
            logger.warning("%s unreachable: %s", service, exc)
            raise UpstreamUnavailable(f"{service} is unavailable") from None
        except httpx.TimeoutException:
            logger.warning("%s timed out on %s %s", service, request.method, request.url.path)
            raise BadGateway(f"{service} did not answer in time") from None
        except httpx.HTTPError as exc:
            logger.warning("%s failed: %s", service, exc)
            raise BadGateway(f"{service} failed: {type(exc).__name__}") from None
        response = StreamingResponse(_relay(upstream), status_code=upstream.status_code)
        # raw_headers keeps repeated headers (several Set-Cookie lines) as they came.
        response.raw_headers = [
            (name, _rewrite_location(name, value, str(client.base_url), prefix))
            for name, value in upstream.headers.raw
            if name.lower().decode("latin-1") not in RESPONSE_DROP
            and name.lower() != b"x-request-id"
        ]
        return response


async def _relay(upstream: httpx.Response) -> AsyncIterator[bytes]:
    # Closing in `finally` frees the downstream connection even when the browser goes
    # away mid-answer (a background task would not run then).
    try:
        async for chunk in upstream.aiter_raw():
            yield chunk
    finally:
        await upstream.aclose()


def _downstream_path(request: Request, prefix: str) -> str:
    # The raw path keeps percent-escapes (an encoded `/` stays inside its segment).
    raw = request.scope.get("raw_path") or request.url.path.encode()
    path = raw.decode("latin-1")[len(prefix) :]
    return path if path.startswith("/") else "/" + path


def _has_body(request: Request) -> bool:
    headers = request.headers
    return "content-length" in headers or "transfer-encoding" in headers


def _request_headers(request: Request, prefix: str) -> list[tuple[str, str]]:
    headers = [
        (name, value)
        for name, value in request.headers.items()
        if name not in HOP_BY_HOP and name not in FORWARDED
    ]
    client_host = request.client.host if request.client else ""
    previous = request.headers.get("x-forwarded-for")
    headers += [
        ("x-forwarded-for", f"{previous}, {client_host}" if previous else client_host),
        ("x-forwarded-proto", request.headers.get("x-forwarded-proto", request.url.scheme)),
        ("x-forwarded-host", request.headers.get("x-forwarded-host", request.url.netloc)),
        # Lets the registry's admin pages build links under /api/registry.
        ("x-forwarded-prefix", request.headers.get("x-forwarded-prefix", "") + prefix),
    ]
    return headers


def _rewrite_location(name: bytes, value: bytes, base_url: str, prefix: str) -> bytes:
    """A redirect to the downstream's own absolute URL becomes one under our prefix."""
    if name.lower() != b"location":
        return value
    location = value.decode("latin-1")
    base = base_url.rstrip("/")
    if location.startswith(base + "/") or location == base:
        return (prefix + location[len(base) :]).encode("latin-1")
    return value
