"""Wiring: `uvicorn services.recommender.main:app --port 8003`."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from functools import cache
from typing import Any

from fastapi import FastAPI, Request

from services.common import create_app
from services.common.aws import open_clients
from services.recommender.cache import TtlCache
from services.recommender.clients.catalog import CatalogClient, create_catalog_http
from services.recommender.clients.personalize import PersonalizeClient
from services.recommender.clients.registry import RegistryClient, create_registry_http
from services.recommender.config import Settings, get_settings
from services.recommender.deps import Downstreams
from services.recommender.routes import models, users


def create_recommender_app(settings: Settings) -> FastAPI:
    """The recommender app for `settings`; its clients live as long as the app runs."""
    # httpx logs every request at INFO: two lines per answer here, noise next to the access log.
    logging.getLogger("httpx").setLevel(logging.WARNING)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            runtime = await open_clients(stack, settings.runtime_aws(), "personalize-runtime")
            control = await open_clients(stack, settings.control_aws(), "personalize")
            catalog = await stack.enter_async_context(create_catalog_http(settings.CATALOG_URL))
            registry = await stack.enter_async_context(create_registry_http(settings.REGISTRY_URL))
            app.state.downstreams = Downstreams(
                settings=settings,
                catalog=CatalogClient(
                    catalog,
                    rated_ttl=settings.RATED_CACHE_SECONDS,
                    movies_ttl=settings.MOVIES_CACHE_SECONDS,
                ),
                registry=RegistryClient(registry, ttl=settings.MODELS_CACHE_SECONDS),
                personalize=PersonalizeClient(
                    runtime["personalize-runtime"],
                    control["personalize"],
                    campaign_timeout=settings.CAMPAIGN_TIMEOUT_SECONDS,
                ),
                metrics_cache=TtlCache(settings.SUMMARY_CACHE_SECONDS),
            )
            yield

    return create_app(
        service="recommender",
        settings=settings,
        routers=[users.router, models.router],
        lifespan=lifespan,
        readiness={"catalog": _catalog_ready, "registry": _registry_ready},
        description="Campaign results enriched from the catalog (docs/contracts.md, Recommender).",
    )


async def _catalog_ready(request: Request) -> str | None:
    return await request.app.state.downstreams.catalog.ready()  # type: ignore[no-any-return]


async def _registry_ready(request: Request) -> str | None:
    return await request.app.state.downstreams.registry.ready()  # type: ignore[no-any-return]


@cache
def _default_app() -> FastAPI:
    return create_recommender_app(get_settings())


def __getattr__(name: str) -> Any:
    # Built on first access, so tests import this module without CATALOG_URL set;
    # uvicorn's getattr(module, "app") still finds it.
    if name == "app":
        return _default_app()
    raise AttributeError(name)
