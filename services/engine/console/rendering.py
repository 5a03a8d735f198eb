"""The console's one Jinja environment (autoescaped) and the helpers every page uses."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from services.common.admin_auth import AdminAuth
from services.engine.arns import name_of

HERE = Path(__file__).parent
# Jinja2Templates turns autoescaping on for .html templates.
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.filters["name_of"] = name_of
templates.env.filters["metric"] = lambda value: "—" if value is None else f"{float(value):.4f}"
FINAL_STATUSES = ("ACTIVE", "CREATE FAILED", "CREATE STOPPED")
templates.env.globals["FINAL_STATUSES"] = FINAL_STATUSES
# Paths the sign-in form may send a user back to: our own pages only. Used with fullmatch:
# `match` lets `$` match before a final newline, which then broke the Location header.
_LOCAL_PATH = re.compile(r"/[A-Za-z0-9/_.~%-]*(#[A-Za-z0-9_-]*)?")


def base_path(request: Request) -> str:
    """Where the console is mounted (e.g. /console), as links and the cookie path need it."""
    return str(request.scope.get("root_path", "")).rstrip("/")


def auth_of(request: Request) -> AdminAuth:
    auth: AdminAuth = request.app.state.admin_auth
    return auth


def render(
    request: Request, template: str, context: dict[str, Any], status_code: int = 200
) -> HTMLResponse:
    # The CSRF token is the cookie's; who is signed in only what `signed_in_admin`
    # checked against the session store for this request.
    session = auth_of(request).cookie(request)
    admin = getattr(request.state, "admin_session", None)
    response = templates.TemplateResponse(
        request,
        template,
        {
            "base": base_path(request),
            "csrf_token": session.csrf_token if session else "",
            "user": admin.user if admin else None,
            "errors": {},
            "values": {},
            **context,
        },
        status_code=status_code,
    )
    # Pages hold a CSRF token and private data: never cache them, never frame them.
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'"
    )
    return response


def redirect(request: Request, path: str) -> RedirectResponse:
    return RedirectResponse(f"{base_path(request)}{path}", status_code=303)


def safe_next(request: Request, target: object) -> str:
    """A console path to go back to, or the home page (no open redirects)."""
    base = base_path(request)
    if isinstance(target, str) and _LOCAL_PATH.fullmatch(target) and "//" not in target:
        if target == base or target.startswith((base + "/", base + "#")):
            return target
    return base + "/"
