"""Request id, access log and Prometheus metrics in one pure ASGI middleware.

Written as plain ASGI rather than BaseHTTPMiddleware because the latter costs a task
and a queue per request, which shows in the engine's serving benchmark.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.common.logging import request_id_var

REQUEST_ID_HEADER = "x-request-id"
_VALID_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
access_logger = logging.getLogger("videorecs.access")


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
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.access_log = access_log
        self.render_unexpected = render_unexpected

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = None
        for key, value in scope["headers"]:
            if key == b"x-request-id":
                incoming = value.decode("latin-1")
                break
        request_id = incoming if incoming and _VALID_ID.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        status = 500
        response_started = False
        started = time.perf_counter()

        async def send_wrapper(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                headers: list[Any] = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
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
            self.metrics.requests.labels(method, route, str(status)).inc()
            self.metrics.latency.labels(method, route).observe(elapsed)
            if self.access_log and route not in ("/healthz", "/metrics"):
                access_logger.info(
                    "%s %s %d",
                    method,
                    scope["path"],
                    status,
                    extra={"duration_ms": round(elapsed * 1000, 2), "status": status},
                )
            request_id_var.reset(token)
