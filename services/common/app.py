"""The application factory every service's main.py calls."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.telemetry import TelemetryConfig
from prometheus_client import CollectorRegistry

from services.common.config import BaseServiceSettings
from services.common.errors import install_error_handlers, render_unexpected
from services.common.health import ReadinessCheck, health_router
from services.common.logging import configure_logging
from services.common.middleware import Metrics, RequestContextMiddleware

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
) -> FastAPI:
    """Wire logging, request ids, metrics, error handlers, health and the routers."""
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
    app.add_middleware(
        RequestContextMiddleware,
        metrics=app.state.metrics,
        access_log=settings.ACCESS_LOG,
        render_unexpected=render_unexpected if install_errors else None,
        id_headers=id_headers,
    )
    if install_errors:
        install_error_handlers(app)
    app.include_router(health_router(readiness or {}))
    for router in routers:
        app.include_router(router)
    return app
