"""Wiring of the catalog service: `uvicorn services.catalog.main:app --port 8001`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cache
from typing import Any

from fastapi import FastAPI

from services.catalog.config import Settings, get_settings
from services.catalog.routes import genres, movies, stats, users
from services.common.app import create_app
from services.common.db import create_engine, create_sessionmaker, tables_ready


def create_catalog_app(settings: Settings) -> FastAPI:
    """The catalog app for `settings` (tests pass their own database)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The API only reads, one statement per request: autocommit spares the BEGIN and
        # COMMIT round trips, and a single statement still sees one consistent snapshot.
        app.state.engine = create_engine(
            settings.DATABASE_URL,
            pool_size=settings.DATABASE_POOL_SIZE,
            echo=settings.DATABASE_ECHO,
            isolation_level="AUTOCOMMIT",
        )
        app.state.sessionmaker = create_sessionmaker(app.state.engine)
        try:
            yield
        finally:
            await app.state.engine.dispose()

    return create_app(
        service="catalog",
        settings=settings,
        routers=[users.router, movies.router, genres.router, stats.router],
        lifespan=lifespan,
        # Ready once the migrations have made the tables: before that every route would
        # fail (and answers 503, see services/common/db.py).
        readiness={"database": tables_ready("users", "movies", "reviews", "movie_popularity")},
        description="MovieLens users, movies and reviews (docs/contracts.md, Catalog).",
    )


@cache
def _default_app() -> FastAPI:
    return create_catalog_app(get_settings())


def __getattr__(name: str) -> Any:
    # `app` is built on first access rather than at import, so tests can import this
    # module without DATABASE_URL; uvicorn's getattr(module, "app") still works.
    if name == "app":
        return _default_app()
    raise AttributeError(name)
