"""Registry service: which Personalize campaigns the app uses, plus the admin pages."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from functools import cache
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from services.common import create_app
from services.common.admin_auth import AdminAuth, LoginThrottle, SignInRequired
from services.common.aws import open_clients
from services.common.db import create_engine, create_sessionmaker, database_ready
from services.common.migrations import upgrade_to_head_async
from services.registry.admin_sessions import DatabaseSessionStore
from services.registry.clients.personalize import PersonalizeClient, RecipeNameCache
from services.registry.config import Settings, get_settings
from services.registry.pages import STATIC_DIR, redirect
from services.registry.routes import admin_auth, admin_models, models

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    if settings.AUTO_MIGRATE:
        await upgrade_to_head_async(MIGRATIONS_DIR, settings.DATABASE_URL)
    async with AsyncExitStack() as stack:
        engine = create_engine(settings.DATABASE_URL, pool_size=settings.DATABASE_POOL_SIZE)
        stack.push_async_callback(engine.dispose)
        app.state.engine, app.state.sessionmaker = engine, create_sessionmaker(engine)
        # Signed-in sessions live in the database: a sign-out holds on every replica.
        app.state.admin_auth.sessions = DatabaseSessionStore(app.state.sessionmaker)
        clients = await open_clients(stack, settings.aws, "personalize")
        app.state.personalize = PersonalizeClient(clients["personalize"])
        app.state.recipes = RecipeNameCache(
            app.state.personalize,
            ttl=settings.RECIPE_CACHE_SECONDS,
            failure_ttl=settings.RECIPE_FAILURE_CACHE_SECONDS,
            timeout=settings.RECIPE_LOOKUP_TIMEOUT_SECONDS,
        )
        yield


async def _sign_in(request: Request, _: Exception) -> Response:
    return redirect(request, "/login")


def create_registry_app(settings: Settings) -> FastAPI:
    """Build the app; exits naming what is missing if production secrets are absent."""
    settings.check_startup()
    app = create_app(
        service="registry",
        settings=settings,
        routers=[models.router, admin_auth.router, admin_models.router],
        lifespan=lifespan,
        readiness={"database": database_ready},
        description="Registered Personalize campaigns (models) and their admin pages.",
    )
    # After create_app, so the development notice is logged through the JSON handler.
    auth = AdminAuth.from_settings(settings, service="registry", secure=settings.cookie_secure)
    if auth.problems:  # e.g. an ADMIN_PASSWORD_HASH that is not argon2
        raise SystemExit("registry refuses to start: " + "; ".join(auth.problems))
    auth.cookies.max_age = settings.SESSION_MAX_AGE_SECONDS
    auth.throttle = LoginThrottle(
        max_failures=settings.LOGIN_MAX_FAILURES,
        max_username_failures=settings.LOGIN_MAX_FAILURES_PER_USERNAME,
        window_seconds=settings.LOGIN_WINDOW_SECONDS,
        lockout_seconds=settings.LOGIN_LOCKOUT_SECONDS,
    )
    app.state.admin_auth = auth
    app.add_exception_handler(SignInRequired, _sign_in)
    app.mount("/admin/static", StaticFiles(directory=STATIC_DIR), name="admin-static")
    return app


@cache
def _app() -> FastAPI:
    return create_registry_app(get_settings())


def __getattr__(name: str) -> FastAPI:
    # `app` is built on first access (uvicorn's), so importing this module (tests, tools)
    # does not read the environment or refuse to start.
    if name == "app":
        return _app()
    raise AttributeError(name)
