"""A streaming reverse proxy from `/api/<service>/<path>` to one downstream service.

In docker-compose nginx routes these prefixes; in the one-machine mode and in tests
this process does it, so the browser only ever talks to one origin (cookies of the
registry's admin pages included). Written by hand because it is ~250 lines on top of
httpx and no maintained library fits an ASGI app with per-service clients.

Under load it sheds rather than queues: each downstream admits PROXY_MAX_CONCURRENCY
requests at a time (downstream.py) and refuses more with 503 + Retry-After, and a
client that disconnects cancels its upstream request and frees its slot (uvicorn
reports the disconnect to `receive()` but never cancels the handler). Without this a
burst of 1,000 connections left thousands of abandoned requests queued behind the httpx
pool for ~20 s, and the first request after the burst waited for all of them.

Paths are checked before they leave: the prefix is stripped by segments of the raw path
(`/api/%63atalog/stats` is the catalog's `/stats`), empty and dot segments are refused
(httpx would resolve `/api/catalog/../x`), and the downstreams' docs and metrics are not
public.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar
from urllib.parse import unquote

import httpx
from fastapi import Request
from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from services.common.errors import BadGateway, ClientClosedRequest, NotFound, UpstreamUnavailable
from services.frontend.config import SERVICES
from services.frontend.downstream import Downstream

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
        "forwarded",  # RFC 7239's form: dropped, never believed
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
# First path segments a downstream serves to operators, not browsers. The docs can be
# opened with PUBLIC_DOCS; metrics never go through (Prometheus scrapes directly).
DOC_PAGES = frozenset({"docs", "redoc", "openapi.json"})
PRIVATE_PAGES = frozenset({"metrics"})

T = TypeVar("T")


@dataclass
class Proxy:
    """The configured downstreams, each with its clients and gate (downstream.py)."""

    urls: dict[str, str]
    public_prefix: str
    timeout: httpx.Timeout
    max_concurrency: int = 64
    public_docs: bool = False
    downstreams: dict[str, Downstream] = field(default_factory=dict)

    async def open(self) -> None:
        for name, url in self.urls.items():
            self.downstreams[name] = Downstream.open(
                name, url, timeout=self.timeout, max_concurrency=self.max_concurrency
            )

    async def aclose(self) -> None:
        for downstream in self.downstreams.values():
            await downstream.aclose()
        self.downstreams.clear()

    def prefix_of(self, service: str) -> str:
        return f"{self.public_prefix}/{service}"

    async def forward(self, request: Request, service: str) -> Response:
        """Send `request` to `service`; the answer streams back as the response is sent."""
        downstream = self.downstreams.get(service)
        if downstream is None:
            if service in SERVICES:
                raise UpstreamUnavailable(f"{service} is not configured on this server")
            raise NotFound(f"no API named {service!r}")
        prefix = self.prefix_of(service)
        path = downstream_path(request, service, public_docs=self.public_docs)
        try:
            # Bodies are small (the shared middleware caps them at MAX_BODY_BYTES) and
            # reading one first leaves `receive` free to watch for a disconnect.
            content = await request.body() if _has_body(request) else None
        except ClientDisconnect:
            raise ClientClosedRequest("client disconnected while sending") from None
        exchange = _exchange(
            downstream,
            request.method,
            httpx.URL(path=path, query=request.scope["query_string"]),
            headers=_request_headers(request, prefix),
            content=content,
        )
        # Watched from before the gate: after a burst, the requests of clients that have
        # already left must not take (or wait for) the slots of those still there.
        release, upstream = await _unless_disconnected(exchange, request.receive, on_late=_drop)
        # raw_headers keeps repeated headers (several Set-Cookie lines) as they came.
        headers = [
            (name, _rewrite_location(name, value, downstream.base_url, prefix))
            for name, value in upstream.headers.raw
            if name.lower().decode("latin-1") not in RESPONSE_DROP
            and name.lower() != b"x-request-id"
        ]
        return UpstreamResponse(upstream, headers, release=release)


class UpstreamResponse(Response):
    """Streams a downstream's answer; closes it and frees its gate slot however the
    exchange ends (finished, failed, or the client gone mid-answer)."""

    def __init__(
        self,
        upstream: httpx.Response,
        headers: list[tuple[bytes, bytes]],
        *,
        release: Callable[[], None],
    ) -> None:
        self.status_code = upstream.status_code
        self.raw_headers = headers
        self.background = None
        self._upstream = upstream
        self._release = release

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await _unless_disconnected(self._relay(send), receive)
        except ClientClosedRequest:
            logger.debug("client left during the answer from %s", self._upstream.url)
        finally:
            self._release()
            await self._upstream.aclose()

    async def _relay(self, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        async for chunk in self._upstream.aiter_raw():
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _exchange(
    downstream: Downstream,
    method: str,
    url: httpx.URL,
    *,
    headers: list[tuple[str, str]],
    content: bytes | None,
) -> tuple[Callable[[], None], httpx.Response]:
    service = downstream.name
    try:
        return await downstream.exchange(method, url, headers=headers, content=content)
    except httpx.ConnectError as exc:
        logger.warning("%s unreachable: %s", service, exc)
        raise UpstreamUnavailable(f"{service} is unavailable") from None
    except httpx.TimeoutException:
        logger.warning("%s timed out on %s %s", service, method, url.path)
        raise BadGateway(f"{service} did not answer in time") from None
    except httpx.HTTPError as exc:
        logger.warning("%s failed: %s", service, exc)
        raise BadGateway(f"{service} failed: {type(exc).__name__}") from None


async def _drop(exchange: tuple[Callable[[], None], httpx.Response]) -> None:
    """An answer that came after its client left: free the slot and the connection."""
    release, response = exchange
    release()
    await response.aclose()


async def _unless_disconnected(
    work: Awaitable[T],
    receive: Receive,
    *,
    on_late: Callable[[T], Awaitable[None]] | None = None,
) -> T:
    """`work`'s result, unless the client disconnects first: then `work` is cancelled
    (httpx drops its connection, so the downstream sees the client leave too) and
    ClientClosedRequest is raised. `on_late` disposes of a result that came anyway."""
    task = asyncio.ensure_future(work)
    watcher = asyncio.ensure_future(_disconnected(receive))
    try:
        await asyncio.wait((task, watcher), return_when=asyncio.FIRST_COMPLETED)
    finally:  # also when we are cancelled ourselves
        watcher.cancel()
        if not task.done():
            task.cancel()
    if task.done() and not task.cancelled():
        return task.result()
    await asyncio.wait((task,))  # let the cancelled work clean up
    if not task.cancelled() and task.exception() is None and on_late is not None:
        await on_late(task.result())
    raise ClientClosedRequest("client disconnected before the answer")


async def _disconnected(receive: Receive) -> None:
    # After the request body, the next message uvicorn gives is the disconnect.
    while (await receive())["type"] != "http.disconnect":
        pass


def downstream_path(request: Request, service: str, *, public_docs: bool) -> str:
    """The raw path after `/api/<service>`, refused (404) when it could mean something
    else downstream than it seems here.

    The prefix is stripped by segments of the raw path, so an escaped prefix
    (`/api/%63atalog/stats`) strips whole, and escapes after it (an encoded `/` inside
    a segment) reach the downstream as sent.
    """
    raw = (request.scope.get("raw_path") or request.url.path.encode()).decode("latin-1")
    parts = raw.split("/", 3)  # "", "api", "<service>", rest
    if len(parts) < 3 or unquote(parts[2]) != service:
        raise NotFound(f"no API named {unquote(parts[2]) if len(parts) > 2 else ''!r}")
    rest = parts[3] if len(parts) == 4 else ""
    segments = [unquote(segment) for segment in rest.split("/")]
    if "" in segments[:-1]:
        raise NotFound("empty path segment ('//') in the API path")
    if "." in segments or ".." in segments:
        raise NotFound("'.' and '..' segments are not allowed in API paths")
    first = segments[0]
    if first in PRIVATE_PAGES or (first in DOC_PAGES and not public_docs):
        raise NotFound(f"the {service}'s /{first} is not served through this proxy")
    return "/" + rest


def _has_body(request: Request) -> bool:
    headers = request.headers
    return "content-length" in headers or "transfer-encoding" in headers


def _request_headers(request: Request, prefix: str) -> list[tuple[str, str]]:
    """The client's headers, minus hop-by-hop ones, plus forwarding headers set from
    what this process knows. Never the client's own X-Forwarded-*: in the embedded run
    this proxy is the edge, so those would be whatever the client chose to claim."""
    headers = [
        (name, value)
        for name, value in request.headers.items()
        if name not in HOP_BY_HOP and name not in FORWARDED
    ]
    headers += [
        ("x-forwarded-for", request.client.host if request.client else ""),
        ("x-forwarded-proto", request.url.scheme),
        ("x-forwarded-host", request.headers.get("host", "")),
        # Lets the registry's admin pages build links under /api/registry.
        ("x-forwarded-prefix", prefix),
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
