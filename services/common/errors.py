"""One error base class, rendered as `{"detail": "..."}` by one handler.

    ServiceError            500  (base; never raised for bad input)
    ├── BadRequest          422  the input is well-formed but wrong
    ├── Unauthorized        401
    ├── Forbidden           403
    ├── NotFound            404
    ├── Conflict            409
    ├── BadGateway          502  a downstream answered with something unusable
    ├── UpstreamUnavailable 503  a downstream (or the database) could not be reached
    └── ClientClosedRequest 499  the client left before the answer (only logs see it)

FastAPI's request validation errors become 422 with a readable message, and anything
unexpected becomes a 500 whose body says nothing about the code (the log has the trace),
except a database that is down or not migrated yet: that is a 503 saying so. Oversized
requests are refused with 413 / 431 by the shared middleware (middleware.py).
Every one of these bodies is `{"detail": "<message>"}` (`ErrorBody`, which the OpenAPI
declares). The Personalize-compatible engine keeps the AWS error shape and has its own
handler.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

logger = logging.getLogger(__name__)


class ServiceError(Exception):
    """Base of every error a service turns into an HTTP answer."""

    status_code = 500

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        # Sent with the answer, e.g. Retry-After on a 503 from an overloaded proxy.
        self.headers = headers
        if status_code is not None:
            self.status_code = status_code


class ErrorBody(BaseModel):
    """The body of every error answer (the OpenAPI declares it for 4xx and 5xx)."""

    detail: str


class BadRequest(ServiceError):
    status_code = 422


class Unauthorized(ServiceError):
    status_code = 401


class Forbidden(ServiceError):
    status_code = 403


class NotFound(ServiceError):
    status_code = 404


class Conflict(ServiceError):
    status_code = 409


class BadGateway(ServiceError):
    status_code = 502


class UpstreamUnavailable(ServiceError):
    status_code = 503


class ClientClosedRequest(ServiceError):
    """The client went away before the answer (nginx's 499): only the logs and metrics
    see it. The shared middleware records any request whose client left before an answer
    with this status (middleware.py), whether or not something raised this."""

    status_code = 499


def describe_validation_errors(errors: list[dict[str, Any]] | Any) -> str:
    """Turn pydantic's error list into one sentence: `limit: Input should be ...`."""
    parts = []
    for err in errors:
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")]
        where = ".".join(loc) or "request"
        parts.append(f"{where}: {err.get('msg', 'invalid value')}")
    return "; ".join(parts) or "invalid request"


async def _service_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ServiceError)
    return JSONResponse({"detail": exc.message}, status_code=exc.status_code, headers=exc.headers)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return JSONResponse({"detail": describe_validation_errors(exc.errors())}, status_code=422)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(getattr(exc, "headers", None) or {})
    if exc.status_code == 405:
        headers["Allow"] = _allowed_methods(request) or headers.get("Allow", "GET, HEAD")
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=headers)


def _allowed_methods(request: Request) -> str:
    """Every method some route serves at this path. Starlette's own Allow names only the
    first route that matched the path, although GET and POST /models are two routes."""
    methods: set[str] = set()
    # Through included routers too (FastAPI keeps them nested), as its OpenAPI walks them.
    for route in iter_route_contexts(request.app.router.routes):
        if route.methods and route.matches(request.scope)[0] != Match.NONE:
            methods |= route.methods
    return ", ".join(sorted(methods))


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    # Imported here: the services without a database never load SQLAlchemy for this.
    from services.common.db import database_problem

    problem = database_problem(exc)
    if problem is not None:
        # An outage, not a bug: no trace, and a 503 that tells the caller to come back.
        logger.warning("%s on %s %s: %r", problem, request.method, request.url.path, exc)
        return JSONResponse({"detail": problem}, status_code=503, headers={"Retry-After": "5"})
    logger.exception("unhandled error on %s %s", request.method, request.url.path)
    return JSONResponse({"detail": "internal error"}, status_code=500)


# The 500 renderer RequestContextMiddleware uses, so the answer carries the request id.
render_unexpected = _unexpected


def install_error_handlers(app: FastAPI) -> None:
    """Register the one handler per error family on `app`."""
    app.add_exception_handler(ServiceError, _service_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
