"""Request id, access log and Prometheus metrics in one pure ASGI middleware.

Written as plain ASGI rather than BaseHTTPMiddleware because the latter costs a task
and a queue per request, which shows in the engine's serving benchmark; for the same
reason the metric children are looked up once per label set, and generated request ids
are a per-process random prefix and a counter rather than a uuid4 (a getrandom call)
each: they need to be unique, not unpredictable.
"""

from __future__ import annotations

import itertools
import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.common.logging import request_id_var

REQUEST_ID_HEADER = "x-request-id"
_VALID_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
access_logger = logging.getLogger("videorecs.access")
_ID_PREFIX = secrets.token_hex(10)  # 20 hex characters, fixed for the process
_ID_COUNTER = itertools.count(secrets.randbelow(2**40))


def new_request_id() -> str:
    """32 lowercase hex characters, unique within the process and across processes."""
    return f"{_ID_PREFIX}{next(_ID_COUNTER) % 2**48:012x}"


class Metrics:
    """The request counters and latency histogram of one service."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.requests = Counter(
            "http_requests_total",
            "HTTP requests handled",
            ["method", "route", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "http_request_duration_seconds",
            "HTTP request latency",
            ["method", "route"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=registry,
        )
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one request and its latency (label children are looked up once)."""
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:
            children = self._children[key] = (
                self.requests.labels(method, route, str(status)),
                self.latency.labels(method, route),
            )
        children[0].inc()
        children[1].observe(seconds)


def _route_of(scope: Scope) -> str:
    # The route template (/users/{user_id}), not the raw path, keeps label cardinality low.
    route = scope.get("route")
    return getattr(route, "path", None) or "unmatched"


# Renders an unhandled exception as a response (and logs it); see errors.render_unexpected.
UnexpectedErrorRenderer = Callable[[Request, Exception], Awaitable[Response]]


class RequestContextMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: Metrics,
        access_log: bool = True,
        render_unexpected: UnexpectedErrorRenderer | None = None,
        id_headers: Sequence[str] = (),
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.access_log = access_log
        self.render_unexpected = render_unexpected
        # More response headers that carry the request id (the engine's x-amzn-RequestId).
        self.id_headers = [REQUEST_ID_HEADER.encode(), *(h.lower().encode() for h in id_headers)]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = None
        for key, value in scope["headers"]:
            if key == b"x-request-id":
                incoming = value.decode("latin-1")
                break
        request_id = incoming if incoming and _VALID_ID.match(incoming) else new_request_id()
        token = request_id_var.set(request_id)
        status = 500
        response_started = False
        started = time.perf_counter()

        async def send_wrapper(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                value = request_id.encode()
                headers: list[Any] = list(message.get("headers", []))
                headers.extend((name, value) for name in self.id_headers)
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except Exception as exc:
            # An `Exception` handler registered on the app only runs in Starlette's
            # outermost ServerErrorMiddleware, after this middleware has exited: the 500
            # would lack X-Request-ID and its log line the request id. Render it here.
            if self.render_unexpected is None or response_started:
                raise
            response = await self.render_unexpected(Request(scope), exc)
            await response(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - started
            route = _route_of(scope)
            method = scope["method"]
            self.metrics.observe(method, route, status, elapsed)
            if self.access_log and route not in ("/healthz", "/metrics"):
                access_logger.info(
                    "%s %s %d",
                    method,
                    scope["path"],
                    status,
                    extra={"duration_ms": round(elapsed * 1000, 2), "status": status},
                )
            request_id_var.reset(token)
