"""The console as a small FastAPI app mounted in the engine at /console.

A sub-app rather than routes on the engine app: the engine answers every error in the
AWS JSON shape, while the console answers with pages and redirects to its sign-in.
It reaches the engine's state through `state.parent`.
"""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.common.admin_auth import AdminAuth, SignInRequired
from services.engine.config import Settings
from services.engine.console.deps import ConsoleUnavailable, require_configured
from services.engine.console.rendering import base_path, redirect, render
from services.engine.console.routes import actions, auth, pages
from services.engine.wire.errors import PersonalizeError

logger = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"
MOUNT_PATH = "/console"


async def _sign_in_required(request: Request, _: Exception) -> Response:
    target = request.url.path
    response = redirect(request, "/sign-in")
    if request.method == "GET" and target.rstrip("/") != base_path(request):
        response.headers["location"] += "?next=" + quote(target, safe="/")
    return response


async def _unavailable(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ConsoleUnavailable)
    return HTMLResponse(
        "<!doctype html><title>Console unavailable</title><h1>Console unavailable</h1>"
        "<p>The engine console refuses to serve until its admin settings are set:</p><ul>"
        + "".join(f"<li>{problem}</li>" for problem in exc.problems)
        + "</ul>",
        status_code=503,
    )


async def _api_error(request: Request, exc: Exception) -> Response:
    # A resource that is gone or never existed (a stale link): the API's message, as a page.
    assert isinstance(exc, PersonalizeError)
    status = 404 if exc.code == "ResourceNotFoundException" else 400
    return render(
        request,
        "error.html",
        {"title": "Not available", "message": exc.message, "back": base_path(request) + "/"},
        status_code=status,
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    return HTMLResponse(
        f"<!doctype html><title>{exc.status_code}</title><h1>{exc.status_code}</h1>",
        status_code=exc.status_code,
    )


def create_console(parent: FastAPI, settings: Settings) -> FastAPI:
    console = FastAPI(
        title="videorecs engine console",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        dependencies=[Depends(require_configured)],
    )
    console.state.parent = parent
    console.state.admin_auth = AdminAuth.from_settings(
        settings,
        service="engine",
        cookie_path=MOUNT_PATH,
        secure=settings.SESSION_COOKIE_SECURE,
        max_failures=settings.LOGIN_MAX_FAILURES,
        lockout_seconds=settings.LOGIN_LOCKOUT_SECONDS,
        max_username_failures=settings.LOGIN_MAX_FAILURES_PER_USERNAME,
    )
    # Sessions stay in this process's memory (the default store): the engine runs as one
    # process, and a restart signing everyone out is the safe direction.
    problems = console.state.admin_auth.problems
    if problems:
        logger.error("the console at %s refuses to serve: %s", MOUNT_PATH, "; ".join(problems))
    console.add_exception_handler(SignInRequired, _sign_in_required)
    console.add_exception_handler(ConsoleUnavailable, _unavailable)
    console.add_exception_handler(PersonalizeError, _api_error)
    console.add_exception_handler(StarletteHTTPException, _http_error)
    console.mount("/static", StaticFiles(directory=STATIC), name="static")
    for router in (auth.router, pages.router, actions.router):
        console.include_router(router)
    return console


def mount_console(app: FastAPI, settings: Settings) -> None:
    """Mount the console at /console unless CONSOLE_ENABLED is false."""
    if settings.CONSOLE_ENABLED:
        app.mount(MOUNT_PATH, create_console(app, settings))
