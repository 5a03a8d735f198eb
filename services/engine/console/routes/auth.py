"""Sign-in and sign-out of the console's admin."""

from __future__ import annotations

import math

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from services.common.admin_auth import csrf_matches, new_session
from services.engine.console.deps import Admin, CheckedForm
from services.engine.console.rendering import auth_of, base_path, redirect, render, safe_next

router = APIRouter(tags=["console"])
# One answer for an unknown user and a wrong password, so neither can be told apart.
BAD_CREDENTIALS = "Invalid username or password."


async def _sign_in_page(
    request: Request, *, error: str = "", next_path: str = "", status: int = 200
) -> HTMLResponse:
    auth = auth_of(request)
    session = await auth.session(request)
    fresh = session is None
    if session is None:
        session = new_session()  # anonymous: only carries the sign-in form's CSRF token
    response = render(
        request,
        "sign_in.html",
        {"error": error, "next": next_path, "csrf_token": session.csrf_token},
        status_code=status,
    )
    if fresh:
        auth.cookies.write(response, session, path=base_path(request) or "/")
    return response


@router.get("/sign-in", summary="Sign-in form", operation_id="console-sign-in-form")
async def sign_in_form(request: Request, next: str = "") -> HTMLResponse:
    """The sign-in form."""
    return await _sign_in_page(request, next_path=safe_next(request, next) if next else "")


@router.post("/sign-in", summary="Sign in", operation_id="console-sign-in", response_model=None)
async def sign_in(request: Request) -> Response:
    """Check the credentials; lock a username+client out after repeated failures, and the
    username from every client after more."""
    auth = auth_of(request)
    form = await request.form()
    if not csrf_matches(await auth.session(request), form.get("csrf_token")):
        raise HTTPException(status_code=403, detail="Invalid or missing CSRF token.")
    username = str(form.get("username") or "")
    password = str(form.get("password") or "")
    next_path = str(form.get("next") or "")
    # The peer, or what uvicorn took from X-Forwarded-For of a trusted proxy
    # (--forwarded-allow-ips); the header itself is never read here.
    client = request.client.host if request.client else "unknown"
    # The lockouts (attempts still being checked included) and the password, in one step.
    check = await auth.check_password(username, password, client)
    if not check.checked:
        assert check.lockout is not None
        minutes = math.ceil(check.lockout.seconds / 60)
        unit = "minute" if minutes == 1 else "minutes"
        return await _sign_in_page(
            request,
            error=f"Too many failed sign-ins. Try again in {minutes} {unit}.",
            next_path=next_path,
            status=429,
        )
    # The failure that starts a lockout still says only "invalid": the next try says locked.
    if not check.signed_in:
        return await _sign_in_page(request, error=BAD_CREDENTIALS, next_path=next_path, status=401)
    response = redirect(request, "")
    response.headers["location"] = safe_next(request, next_path)
    # A new session (and CSRF token) on sign-in: a planted cookie is worth nothing.
    await auth.sign_in(request, response, username, path=base_path(request) or "/")
    return response


@router.post("/sign-out", summary="Sign out", operation_id="console-sign-out")
async def sign_out(request: Request, _admin: Admin, _form: CheckedForm) -> Response:
    """End the session on the server too, so no saved copy of the cookie works after."""
    response = redirect(request, "/sign-in")
    await auth_of(request).sign_out(request, response, path=base_path(request) or "/")
    return response
