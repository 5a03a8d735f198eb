"""Rendering helpers for the admin pages: one Jinja environment, autoescaped."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from services.common.admin_auth import AdminSession
from services.registry.config import Settings

HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"
# Starlette's environment autoescapes .html templates (select_autoescape).
templates = Jinja2Templates(directory=HERE / "templates")

BAD_FORM = "This form has expired or did not come from this site. Reload the page and try again."
DONE_MESSAGES = {
    "added": "Model added.",
    "updated": "Model saved.",
    "deleted": "Model deleted.",
    "signed-in": "Signed in.",
}


# A path prefix made of plain segments (it ends up in links and the cookie path).
_PREFIX = re.compile(r"(/[A-Za-z0-9._~-]+)+")


def root_path(request: Request) -> str:
    """The prefix our paths live under: ROOT_PATH; else --root-path; else X-Forwarded-Prefix.

    The header only shapes links and the cookie path of the answer to the request that
    carried it, so honouring it gives nobody power over anyone else's pages.
    """
    settings: Settings = request.app.state.settings
    if settings.ROOT_PATH:
        return settings.ROOT_PATH
    scoped = str(request.scope.get("root_path", "")).rstrip("/")
    if scoped:
        return scoped
    forwarded = request.headers.get("x-forwarded-prefix", "").rstrip("/")
    return forwarded if _PREFIX.fullmatch(forwarded) else ""


def cookie_path(request: Request) -> str:
    """The session cookie covers the API and the pages under our prefix."""
    return root_path(request) or "/"


def admin_base(request: Request) -> str:
    """Absolute path of /admin under whatever prefix serves us."""
    return f"{root_path(request)}/admin"


def render(
    request: Request,
    name: str,
    *,
    session: AdminSession | None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    settings: Settings = request.app.state.settings
    response = templates.TemplateResponse(
        request,
        name,
        {
            "admin": admin_base(request),
            "home_url": settings.HOME_URL,
            "session": session,
            "csrf_token": session.csrf_token if session else "",
            **context,
        },
        status_code=status_code,
    )
    # Admin pages hold a CSRF token and private data: never cache, never frame.
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    )
    response.headers["Referrer-Policy"] = "same-origin"
    return response


def redirect(request: Request, path: str) -> RedirectResponse:
    """303 to a path under /admin (so a POST is followed by a GET)."""
    return RedirectResponse(f"{admin_base(request)}{path}", status_code=303)


def forbidden(request: Request) -> HTMLResponse:
    """403 for a form whose CSRF token is missing or not this session's."""
    return render(request, "error.html", session=None, status_code=403, message=BAD_FORM)
