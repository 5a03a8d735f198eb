"""The application factory every service's main.py calls."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.telemetry import TelemetryConfig
from prometheus_client import CollectorRegistry
from starlette.middleware import Middleware

from services.common.config import BaseServiceSettings
from services.common.errors import install_error_handlers, render_unexpected
from services.common.health import ReadinessCheck, health_router
from services.common.logging import configure_logging
from services.common.middleware import (
    DEFAULT_MAX_BODY_BYTES,
    Metrics,
    RefusalRenderer,
    RequestContextMiddleware,
    RequestGate,
    UnexpectedErrorRenderer,
    detail_refusal,
)
from services.common.openapi import declare_error_bodies

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[Any]]
OTEL_OFF: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}


def _freezing(lifespan: Lifespan | None) -> Lifespan:
    """Run `lifespan`, then move everything built at startup out of the GC's reach.

    botocore's service models, SQLAlchemy's metadata and numpy models make a large, long
    lived heap; without gc.freeze() every full collection walks it again, which shows up
    as tens of milliseconds of tail latency under load.
    """

    @asynccontextmanager
    async def wrapped(app: FastAPI) -> AsyncIterator[Any]:
        if lifespan is None:
            gc.collect()
            gc.freeze()
            yield None
            return
        async with lifespan(app) as state:
            gc.collect()
            gc.freeze()
            yield state

    return wrapped


def create_app(
    *,
    service: str,
    settings: BaseServiceSettings,
    routers: Sequence[APIRouter],
    lifespan: Lifespan | None = None,
    readiness: dict[str, ReadinessCheck] | None = None,
    title: str | None = None,
    description: str = "",
    version: str = "0.1.0",
    install_errors: bool = True,
    id_headers: Sequence[str] = (),
    middleware: Sequence[Middleware] = (),
    unexpected: UnexpectedErrorRenderer | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    render_refusal: RefusalRenderer = detail_refusal,
    gate: RequestGate | None = None,
) -> FastAPI:
    """Wire logging, request ids, metrics, error handlers, health and the routers.

    `middleware` runs inside the request-context middleware (so its answers carry
    request ids and count in the metrics), outermost first. `unexpected` renders an
    unhandled exception (default: the shared handler's 500, with `install_errors`): it is
    answered inside the request-context middleware and not re-raised, so uvicorn keeps
    the client's keep-alive connection open. `max_body_bytes` is the service's own
    request body limit (413 above it) unless `MAX_BODY_BYTES` says otherwise;
    `render_refusal` shapes that 413, the 431 for oversized headers and the 408 for a
    body that did not arrive within `REQUEST_BODY_TIMEOUT_SECONDS`. `gate` sees every
    request before the app and may refuse it (see `RequestContextMiddleware`).
    """
    configure_logging(service, settings.LOG_LEVEL)
    app = FastAPI(
        telemetry=None if settings.OTEL_TELEMETRY else OTEL_OFF,
        title=title or f"videorecs {service}",
        description=description,
        version=version,
        lifespan=_freezing(lifespan),
    )
    app.state.settings = settings
    app.state.metrics = Metrics(CollectorRegistry())
    # add_middleware puts each new layer outside the ones before it: these first.
    for layer in reversed(middleware):
        app.add_middleware(layer.cls, *layer.args, **layer.kwargs)
    app.add_middleware(
        RequestContextMiddleware,
        metrics=app.state.metrics,
        access_log=settings.ACCESS_LOG,
        render_unexpected=unexpected or (render_unexpected if install_errors else None),
        id_headers=id_headers,
        max_body_bytes=(
            max_body_bytes if settings.MAX_BODY_BYTES is None else settings.MAX_BODY_BYTES
        ),
        max_header_bytes=settings.MAX_HEADER_BYTES,
        render_refusal=render_refusal,
        body_timeout=settings.REQUEST_BODY_TIMEOUT_SECONDS,
        gate=gate,
    )
    if install_errors:
        install_error_handlers(app)
        declare_error_bodies(app)
    app.include_router(health_router(readiness or {}))
    for router in routers:
        app.include_router(router)
    return app
