"""Wiring of the frontend service: the SPA shell, its static files and the API proxy."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cache
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.middleware import Middleware

from services.common import create_app
from services.frontend.config import API_PREFIX, Settings, get_settings
from services.frontend.proxy import Proxy
from services.frontend.routes import pages, proxy
from services.frontend.security_headers import SecurityHeadersMiddleware
from services.frontend.shedding import LoadShedding


def create_frontend_app(settings: Settings) -> FastAPI:
    """The web app for `settings` (tests pass their own downstreams)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        timeout = httpx.Timeout(
            settings.PROXY_READ_TIMEOUT_SECONDS, connect=settings.PROXY_CONNECT_TIMEOUT_SECONDS
        )
        app.state.proxy = Proxy(
            settings.downstreams(),
            API_PREFIX,
            timeout,
            max_concurrency=settings.PROXY_MAX_CONCURRENCY,
            public_docs=settings.PUBLIC_DOCS,
        )
        await app.state.proxy.open()
        try:
            yield
        finally:
            await app.state.proxy.aclose()

    app = create_app(
        service="frontend",
        settings=settings,
        routers=[pages.router, proxy.router],
        lifespan=lifespan,
        description="The videorecs web app and its same-origin API proxy.",
        middleware=[Middleware(SecurityHeadersMiddleware)],
    )
    # Outside every other layer, so a refused request costs next to nothing.
    app.add_middleware(
        LoadShedding, limit=settings.MAX_REQUESTS_IN_FLIGHT, metrics=app.state.metrics
    )
    app.state.templates = Jinja2Templates(directory=settings.FRONTEND_DIR / "templates")
    app.mount("/static", StaticFiles(directory=settings.FRONTEND_DIR / "static"), name="static")
    return app


@cache
def _default_app() -> FastAPI:
    return create_frontend_app(get_settings())


def __getattr__(name: str) -> Any:
    # Built on first access (uvicorn's getattr), so importing this module reads no settings.
    if name == "app":
        return _default_app()
    raise AttributeError(name)
