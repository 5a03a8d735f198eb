"""Dependency aliases, so route signatures read as plain typed parameters."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Path, Request

from services.common.admin_auth import AdminAuth, AdminSession, SignedInAdmin, csrf_matches
from services.common.db import SessionDep
from services.common.errors import Forbidden, Unauthorized
from services.registry.clients.personalize import PersonalizeClient, RecipeNameCache
from services.registry.config import Settings
from services.registry.models import ID_MAX

CSRF_HEADER = "x-csrf-token"


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_personalize(request: Request) -> PersonalizeClient:
    client: PersonalizeClient = request.app.state.personalize
    return client


def get_recipes(request: Request) -> RecipeNameCache:
    cache: RecipeNameCache = request.app.state.recipes
    return cache


def get_admin_auth(request: Request) -> AdminAuth:
    auth: AdminAuth = request.app.state.admin_auth
    return auth


async def current_session(request: Request) -> AdminSession | None:
    """The admin session (anonymous, or signed in and still live on the server), or None."""
    return await get_admin_auth(request).session(request)


def token_matches(given: str, expected: str | None) -> bool:
    """Constant-time comparison; no token configured means no token is accepted."""
    if not expected or not given:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


async def require_writer(request: Request) -> str:
    """API writes: a valid bearer token, or an admin session cookie plus its CSRF header.

    The cookie alone is not enough: a browser sends it with requests other sites start,
    so cookie-authenticated writes must also echo the session's CSRF token.
    """
    settings = get_settings(request)
    authorization = request.headers.get("authorization", "")
    if authorization:
        scheme, _, token = authorization.partition(" ")
        expected = settings.API_TOKEN.get_secret_value() if settings.API_TOKEN else None
        if scheme.lower() == "bearer" and token_matches(token.strip(), expected):
            return "api-token"
        raise Unauthorized("invalid API token")
    session = await current_session(request)
    if session is None or session.user is None:
        raise Unauthorized(
            "sign in required: send Authorization: Bearer <API_TOKEN> or the admin session cookie"
        )
    if not csrf_matches(session, request.headers.get(CSRF_HEADER)):
        raise Forbidden("missing or wrong X-CSRF-Token header for a cookie-authenticated write")
    return session.user


# Path ids are bounded so an absurd one is a clear 422, never a database driver error.
ModelId = Annotated[int, Path(ge=1, le=ID_MAX)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
PersonalizeDep = Annotated[PersonalizeClient, Depends(get_personalize)]
RecipesDep = Annotated[RecipeNameCache, Depends(get_recipes)]
AdminAuthDep = Annotated[AdminAuth, Depends(get_admin_auth)]
WriterDep = Annotated[str, Depends(require_writer)]
# Pages: a signed-in session, or SignInRequired (answered with a redirect to sign in).
AdminPageDep = SignedInAdmin
OptionalSessionDep = Annotated[AdminSession | None, Depends(current_session)]

__all__ = [
    "AdminAuthDep",
    "AdminPageDep",
    "ModelId",
    "OptionalSessionDep",
    "PersonalizeDep",
    "RecipesDep",
    "SessionDep",
    "SettingsDep",
    "WriterDep",
]
