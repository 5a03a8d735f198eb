"""`/admin/login` and `/admin/logout`: signing in to the admin pages."""

from __future__ import annotations

import logging
import math

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from services.common.admin_auth import csrf_matches, new_session
from services.common.errors import UpstreamUnavailable
from services.registry.deps import AdminAuthDep, OptionalSessionDep
from services.registry.pages import cookie_path, forbidden, redirect, render

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/admin", tags=["admin"], include_in_schema=False)

# One message for an unknown user and a wrong password, so neither is revealed.
BAD_CREDENTIALS = "Invalid username or password."


def locked_message(seconds: float, *, every_address: bool = False) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    # A username lockout holds for every address, by design: see services/registry/README.md.
    where = "" if every_address else " from your address"
    return (
        f"Too many failed sign-ins for this username{where}. "
        f"Try again in {minutes} minute{'s' if minutes != 1 else ''}."
    )


@router.get("/login", summary="Sign-in page", operation_id="admin-login-page")
async def login_page(request: Request, session: OptionalSessionDep, auth: AdminAuthDep) -> Response:
    """The sign-in form (with an anonymous session holding its CSRF token)."""
    if session is not None and session.user is not None:
        return redirect(request, "/")
    session = session or new_session()
    response = render(request, "login.html", session=None, csrf_token=session.csrf_token)
    auth.cookies.write(response, session, path=cookie_path(request))
    return response


@router.post("/login", summary="Sign in", operation_id="admin-login")
async def login(
    request: Request,
    session: OptionalSessionDep,
    auth: AdminAuthDep,
) -> Response:
    """Check the CSRF token, the lockout, then the password; start a fresh session."""
    form = await request.form()
    if session is None or not csrf_matches(session, form.get("csrf_token")):
        return forbidden(request)
    username = str(form.get("username", ""))[:256]
    password = str(form.get("password", ""))[:1024]
    # The peer, or what uvicorn took from X-Forwarded-For of a trusted proxy
    # (--forwarded-allow-ips); the header itself is never read here.
    client = request.client.host if request.client else "unknown"
    credentials = auth.credentials
    if credentials is None:  # never: the app refuses to start without them
        raise UpstreamUnavailable("admin sign-in is not configured")

    def again(status: int, error: str) -> HTMLResponse:
        return render(
            request,
            "login.html",
            session=None,
            csrf_token=session.csrf_token,
            status_code=status,
            error=error,
            username=username,
        )

    # The lockouts (attempts still being checked included) and the password, in one step.
    check = await auth.check_password(username, password, client)
    if check.checked and not check.signed_in:
        logger.warning(
            "failed admin sign-in", extra={"client": client, "locked": check.lockout is not None}
        )
    if check.lockout is not None:
        every_address = check.lockout.every_client
        return again(429, locked_message(check.lockout.seconds, every_address=every_address))
    if not check.signed_in:
        return again(401, BAD_CREDENTIALS)
    logger.info("admin signed in", extra={"client": client})
    response = redirect(request, "/?done=signed-in")
    await auth.sign_in(request, response, credentials.username, path=cookie_path(request))
    return response


@router.post("/logout", summary="Sign out", operation_id="admin-logout")
async def logout(request: Request, session: OptionalSessionDep, auth: AdminAuthDep) -> Response:
    """End the session on the server, so no copy of its cookie works any more (the form
    carries the CSRF token, so no other site can sign us out)."""
    form = await request.form()
    if session is not None and not csrf_matches(session, form.get("csrf_token")):
        return forbidden(request)
    response = redirect(request, "/login")
    await auth.sign_out(request, response, path=cookie_path(request))
    return response
