"""Request id, access log, Prometheus metrics, request size limits and the deadline on
request bodies in one pure ASGI middleware.

Written as plain ASGI rather than BaseHTTPMiddleware because the latter costs a task
and a queue per request, which shows in the engine's serving benchmark; for the same
reason the metric children are looked up once per label set, and generated request ids
are a per-process random prefix and a counter rather than a uuid4 (a getrandom call)
each: they need to be unique, not unpredictable. The size limits cost one pass over the
headers (already made for the request id) and an integer comparison; only a body sent
without Content-Length (chunked) is counted as it streams in. The app reads the body
through `request_body.RequestReceive`, which times it (408 when it is late) and notes a
client that left: a request whose client left before any answer is recorded as 499, as
nginx logs it, not as the 500 of a request nobody answered.

A service may pass a `gate` (the engine's signature check): it sees each request's headers
before the app and may refuse it there, before any of the body is read; if it needs the
body, this middleware reads it through the same `RequestReceive` (limit and deadline
apply), the gate checks it, and the app then reads it from there. It runs here, as two
plain calls, rather than as a middleware or coroutine of its own because every layer the
app runs inside costs on every request (3-6 us of a ~100 us GetRecommendations under wrk).
"""

from __future__ import annotations

import itertools
import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.common.errors import ClientClosedRequest
from services.common.logging import request_id_var
from services.common.request_body import BodyDeadlines, BodyRefused, BodyTooLarge, RequestReceive

REQUEST_ID_HEADER = "x-request-id"
_VALID_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
access_logger = logging.getLogger("videorecs.access")
_ID_PREFIX = secrets.token_hex(10)  # 20 hex characters, fixed for the process
_ID_COUNTER = itertools.count(secrets.randbelow(2**40))
# JSON APIs and form posts: 1 MiB is generous (the engine passes its own, larger limit).
DEFAULT_MAX_BODY_BYTES = 1024 * 1024
# A request whose client left before it was answered (nginx's 499).
CLIENT_CLOSED = ClientClosedRequest.status_code


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
# Renders a refusal (status, message, headers) in the service's error shape.
RefusalRenderer = Callable[[int, str, dict[str, str]], Response]


def detail_refusal(status: int, message: str, headers: dict[str, str]) -> Response:
    """The services' own error shape, `{"detail": message}`."""
    return JSONResponse({"detail": message}, status_code=status, headers=headers)


class RequestGate(Protocol):
    """Decides whether a request may reach the app, in two steps."""

    def check_headers(self, scope: Scope) -> Any:
        """From the request line and headers alone: None to let the request through
        unchecked, a Response that refuses it (its body is never read), or anything else:
        a note for `check_body`, which then sees the whole body."""

    def check_body(self, scope: Scope, checked: Any, body: bytes) -> Response | None:
        """A Response that refuses the request, or None to hand it to the app."""


class RequestContextMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: Metrics,
        access_log: bool = True,
        render_unexpected: UnexpectedErrorRenderer | None = None,
        id_headers: Sequence[str] = (),
        max_body_bytes: int | None = None,
        max_header_bytes: int | None = None,
        render_refusal: RefusalRenderer = detail_refusal,
        body_timeout: float | None = None,
        gate: RequestGate | None = None,
    ) -> None:
        self.app = app
        self.gate = gate
        self.render_refusal = render_refusal
        self.metrics = metrics
        self.access_log = access_log
        self.render_unexpected = render_unexpected
        # None: no limit. Refused with 413 / 431 before the app sees the request.
        self.max_body_bytes = max_body_bytes
        self.max_header_bytes = max_header_bytes
        # None: no deadline. Seconds the whole body may take to arrive after the headers.
        self.body_deadlines = BodyDeadlines(body_timeout) if body_timeout else None
        # More response headers that carry the request id (the engine's x-amzn-RequestId).
        self.id_headers = [REQUEST_ID_HEADER.encode(), *(h.lower().encode() for h in id_headers)]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = None
        content_length = None
        chunked = False
        header_bytes = 0
        for key, value in scope["headers"]:
            header_bytes += len(key) + len(value)
            if key == b"x-request-id":
                incoming = value.decode("latin-1")
            elif key == b"content-length":
                content_length = value
            elif key == b"transfer-encoding":
                chunked = True
        request_id = incoming if incoming and _VALID_ID.match(incoming) else new_request_id()
        token = request_id_var.set(request_id)
        status = 500
        response_started = False
        started = time.perf_counter()
        has_body = chunked or (content_length is not None and content_length != b"0")
        body = RequestReceive(
            receive,
            self.body_deadlines if has_body else None,
            started,
            self.max_body_bytes if chunked else None,
        )

        async def send_wrapper(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                # An answer to a client that has left reaches nobody: it is recorded as such.
                status = CLIENT_CLOSED if body.client_gone else message["status"]
                value = request_id.encode()
                headers: list[Any] = list(message.get("headers", []))
                headers.extend((name, value) for name in self.id_headers)
                message["headers"] = headers
            await send(message)

        try:
            refusal = self._refusal(header_bytes, content_length)
            if refusal is not None:
                await refusal(scope, receive, send_wrapper)
                return
            gate = self.gate
            if gate is not None:
                checked = gate.check_headers(scope)
                if isinstance(checked, Response):
                    # A body of unstated length is dropped as it comes (never held), so
                    # that one over the size limit is a 413 here too, as when its length
                    # is stated; a stated one is never read.
                    if chunked and not await body.drain():
                        return  # the client left: nobody to answer (recorded as 499)
                    await checked(scope, receive, send_wrapper)
                    return
                if checked is not None:
                    content = await body.read_body()
                    if content is None:
                        return  # the client left mid-body (recorded as 499)
                    refusal = gate.check_body(scope, checked, content)
                    if refusal is not None:
                        await refusal(scope, receive, send_wrapper)
                        return
            await self.app(scope, body, send_wrapper)
        except BodyRefused as exc:
            # The apps' HTTPException handlers answer it; this is for the gate, which reads
            # the body before the app does.
            if response_started:
                raise
            response = self.render_refusal(exc.status_code, exc.detail, dict(exc.headers or {}))
            await response(scope, receive, send_wrapper)
        except ClientDisconnect:
            # Starlette's Request saw the client leave mid-body (through `body`, which noted
            # it): there is nobody to answer, and the request is recorded as 499 below.
            if response_started:
                raise
        except Exception as exc:
            # An `Exception` handler registered on the app only runs in Starlette's
            # outermost ServerErrorMiddleware, after this middleware has exited: the 500
            # would lack X-Request-ID and its log line the request id. Render it here.
            if self.render_unexpected is None or response_started:
                raise
            response = await self.render_unexpected(Request(scope), exc)
            await response(scope, receive, send_wrapper)
        finally:
            if not response_started and body.client_gone:
                status = CLIENT_CLOSED
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

    def _refusal(self, header_bytes: int, content_length: bytes | None) -> Response | None:
        """The 431 or 413 for a request over the limits, before the app reads any of it."""
        if self.max_header_bytes is not None and header_bytes > self.max_header_bytes:
            return self.render_refusal(
                431,
                f"request headers too large: {header_bytes} bytes, "
                f"at most {self.max_header_bytes} allowed",
                {"Connection": "close"},
            )
        if (
            self.max_body_bytes is not None
            and content_length is not None
            and content_length.isdigit()  # ASCII digits only; the server rejects the rest
            and (len(content_length) > 18 or int(content_length) > self.max_body_bytes)
        ):
            too_large = BodyTooLarge(self.max_body_bytes)
            # Close: the unread body would otherwise be parsed as the next request.
            return self.render_refusal(413, too_large.detail, {"Connection": "close"})
        return None
