"""Dependency aliases and checks of the console's routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request
from starlette.datastructures import FormData

from services.common.admin_auth import AdminSession, SignedInAdmin, csrf_matches
from services.engine.console.rendering import auth_of


class ConsoleUnavailable(Exception):
    """The console is not configured (production without admin settings)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def require_configured(request: Request) -> None:
    """Every console route refuses to serve while admin settings are missing."""
    problems = auth_of(request).problems
    if problems:
        raise ConsoleUnavailable(problems)


async def checked_form(request: Request, session: SignedInAdmin) -> FormData:
    """The posted form, once its CSRF token matched the session's (else 403)."""
    form = await request.form()
    if not csrf_matches(session, form.get("csrf_token")):
        raise HTTPException(status_code=403, detail="Invalid or missing CSRF token.")
    return form


CheckedForm = Annotated[FormData, Depends(checked_form)]
Admin = SignedInAdmin
__all__ = ["Admin", "AdminSession", "CheckedForm", "ConsoleUnavailable", "require_configured"]
