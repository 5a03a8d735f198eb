"""The application factory every service's main.py calls."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

from fastapi import APIRouter, FastAPI
from prometheus_client import CollectorRegistry

from services.common.config import BaseServiceSettings
from services.common.errors import install_error_handlers, render_unexpected
from services.common.health import ReadinessCheck, health_router
from services.common.logging import configure_logging
from services.common.middleware import Metrics, RequestContextMiddleware

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[Any]]


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
) -> FastAPI:
    """Wire logging, request ids, metrics, error handlers, health and the routers."""
    configure_logging(service, settings.LOG_LEVEL)
    app = FastAPI(
        title=title or f"videorecs {service}",
        description=description,
        version=version,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.metrics = Metrics(CollectorRegistry())
    app.add_middleware(
        RequestContextMiddleware,
        metrics=app.state.metrics,
        access_log=settings.ACCESS_LOG,
        render_unexpected=render_unexpected if install_errors else None,
    )
    if install_errors:
        install_error_handlers(app)
    app.include_router(health_router(readiness or {}))
    for router in routers:
        app.include_router(router)
    return app
