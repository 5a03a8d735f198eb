"""Admin sign-in for server-rendered pages: password hash, session cookie, CSRF, lockout.

The generic part of the admin rules every service with admin pages follows:

- credentials come from the environment (`ADMIN_USERNAME`, `ADMIN_PASSWORD` or the
  argon2 `ADMIN_PASSWORD_HASH`, `SECRET_KEY`); a plain password is hashed at once and
  only the hash is kept and compared;
- outside development nothing has a default: `missing_settings` names what is missing;
  in development a random password is made up and logged once;
- the session is a signed (itsdangerous), HttpOnly, SameSite=Lax cookie holding the user
  and the session's CSRF token; signing in issues a fresh session;
- an unknown user and a wrong password get the same answer and cost the same argon2 work;
- repeated failures lock a username+client pair out for a while (in process memory).

A service builds one `AdminAuth` with `AdminAuth.from_settings(...)`, keeps it on
`app.state.admin_auth`, and guards pages with `SignedInAdmin` (raises `SignInRequired`,
which the service turns into a redirect to its sign-in page).
"""

from __future__ import annotations

import hmac
import logging
import os
import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Protocol

from argon2 import PasswordHasher, extract_parameters
from argon2.exceptions import InvalidHashError, VerificationError
from argon2.profiles import RFC_9106_LOW_MEMORY
from fastapi import Depends, Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer
from pydantic import SecretStr

from services.common.config import PLACEHOLDER_SECRETS

__all__ = [
    "AdminAuth",
    "AdminCredentials",
    "AdminSession",
    "LoginThrottle",
    "SessionCookies",
    "SignInRequired",
    "SignedInAdmin",
    "csrf_matches",
    "hash_password",
    "missing_settings",
    "new_session",
    "signed_in_admin",
]

logger = logging.getLogger(__name__)

DEV_USERNAME = "admin"
MIN_SECRET_KEY_LENGTH = 32
DEFAULT_SESSION_MAX_AGE = 8 * 3600
# Bound the lockout table so a flood of distinct usernames cannot grow memory.
MAX_TRACKED = 10_000


class AdminSettings(Protocol):
    """The settings fields `AdminAuth.from_settings` reads (any pydantic Settings with them)."""

    ENVIRONMENT: str
    ADMIN_USERNAME: str | None
    ADMIN_PASSWORD: SecretStr | None
    ADMIN_PASSWORD_HASH: SecretStr | None
    SECRET_KEY: SecretStr | None


def _is_development(settings: AdminSettings) -> bool:
    return settings.ENVIRONMENT in ("development", "test")


def missing_settings(settings: AdminSettings) -> list[str]:
    """What stops admin pages from being served outside development (empty when fine)."""
    if _is_development(settings):
        return []
    problems = []
    if not settings.ADMIN_USERNAME:
        problems.append("ADMIN_USERNAME is not set")
    if settings.ADMIN_PASSWORD is None and settings.ADMIN_PASSWORD_HASH is None:
        problems.append("ADMIN_PASSWORD or ADMIN_PASSWORD_HASH is not set")
    elif settings.ADMIN_PASSWORD is not None and (
        settings.ADMIN_PASSWORD.get_secret_value().strip().lower() in PLACEHOLDER_SECRETS
    ):
        problems.append("ADMIN_PASSWORD is a placeholder value; set a real password")
    if settings.SECRET_KEY is None:
        problems.append("SECRET_KEY is not set")
    elif len(settings.SECRET_KEY.get_secret_value()) < MIN_SECRET_KEY_LENGTH:
        problems.append(f"SECRET_KEY must be at least {MIN_SECRET_KEY_LENGTH} characters")
    return problems


def hash_password(password: str) -> str:
    """An argon2id hash with the RFC 9106 low-memory profile (salted; 64 MiB, 3 passes)."""
    return PasswordHasher.from_parameters(RFC_9106_LOW_MEMORY).hash(password)


@dataclass(frozen=True)
class AdminCredentials:
    """One admin account: a username and an argon2 hash. Never holds the plain password."""

    username: str
    password_hash: str
    _hasher: PasswordHasher
    _dummy_hash: str

    @classmethod
    def from_hash(cls, username: str, password_hash: str) -> AdminCredentials:
        try:
            hasher = PasswordHasher.from_parameters(extract_parameters(password_hash))
        except InvalidHashError:
            raise ValueError("ADMIN_PASSWORD_HASH is not an argon2 hash") from None
        # Unknown users are checked against this, so they cost the same argon2 work.
        return cls(username, password_hash, hasher, hasher.hash(secrets.token_urlsafe(16)))

    @classmethod
    def from_password(cls, username: str, password: str) -> AdminCredentials:
        return cls.from_hash(username, hash_password(password))

    def verify(self, username: str, password: str) -> bool:
        known = hmac.compare_digest(username.encode(), self.username.encode())
        try:
            matched = self._hasher.verify(
                self.password_hash if known else self._dummy_hash, password
            )
        except (VerificationError, InvalidHashError):
            matched = False
        return known and matched


@dataclass(frozen=True)
class AdminSession:
    csrf_token: str
    user: str | None = None


def new_session(user: str | None = None) -> AdminSession:
    return AdminSession(csrf_token=secrets.token_urlsafe(32), user=user)


class SessionCookies:
    """Reads and writes the signed session cookie; a bad or expired one reads as None."""

    def __init__(
        self,
        secret_key: str,
        *,
        cookie_name: str,
        salt: str,
        path: str = "/",
        secure: bool = True,
        max_age: int = DEFAULT_SESSION_MAX_AGE,
    ) -> None:
        self.cookie_name = cookie_name
        self.path = path
        self.secure = secure
        self.max_age = max_age
        self._serializer = URLSafeTimedSerializer(secret_key, salt=salt)

    def read(self, request: Request) -> AdminSession | None:
        raw = request.cookies.get(self.cookie_name)
        if not raw:
            return None
        try:
            data = self._serializer.loads(raw, max_age=self.max_age)
        except BadSignature:  # also SignatureExpired
            return None
        if not isinstance(data, dict) or not isinstance(data.get("csrf"), str):
            return None
        user = data.get("user")
        return AdminSession(csrf_token=data["csrf"], user=user if isinstance(user, str) else None)

    def write(self, response: Response, session: AdminSession, *, path: str | None = None) -> None:
        """Set the cookie; `path` overrides the default (e.g. the mount's root path)."""
        response.set_cookie(
            self.cookie_name,
            self._serializer.dumps({"csrf": session.csrf_token, "user": session.user}),
            max_age=self.max_age,
            path=path or self.path,
            secure=self.secure,
            httponly=True,
            samesite="lax",
        )

    def clear(self, response: Response, *, path: str | None = None) -> None:
        response.delete_cookie(
            self.cookie_name,
            path=path or self.path,
            secure=self.secure,
            httponly=True,
            samesite="lax",
        )


def csrf_matches(session: AdminSession | None, given: object) -> bool:
    """The form's token equals the session's (constant time); False without a session."""
    if session is None or not isinstance(given, str) or not given:
        return False
    return hmac.compare_digest(given.encode(), session.csrf_token.encode())


class LoginThrottle:
    """Locks a username+client pair out for `lockout_seconds` after `max_failures`
    failures within `window_seconds`. In memory: one count per process."""

    def __init__(
        self,
        *,
        max_failures: int = 5,
        window_seconds: float = 900,
        lockout_seconds: float = 900,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.window = window_seconds
        self.lockout = lockout_seconds
        self._clock = clock
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._locked_until: dict[tuple[str, str], float] = {}

    @staticmethod
    def key(username: str, client: str) -> tuple[str, str]:
        return (username.strip().lower(), client)

    def locked_for(self, key: tuple[str, str]) -> float:
        """Seconds left on the key's lockout; 0 when it may try again."""
        until = self._locked_until.get(key)
        if until is None:
            return 0.0
        left = until - self._clock()
        if left <= 0:
            del self._locked_until[key]
            return 0.0
        return left

    def failed(self, key: tuple[str, str]) -> bool:
        """Record a failure; True when this one locked the key out."""
        now = self._clock()
        if key not in self._failures and len(self._failures) >= MAX_TRACKED:
            self._failures = {
                k: v for k, v in self._failures.items() if v and v[-1] > now - self.window
            }
        failures = self._failures.setdefault(key, deque())
        failures.append(now)
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        if len(failures) >= self.max_failures:
            self._locked_until[key] = now + self.lockout
            del self._failures[key]
            return True
        return False

    def succeeded(self, key: tuple[str, str]) -> None:
        self._failures.pop(key, None)


@dataclass
class AdminAuth:
    """Everything one service's admin pages need; `problems` non-empty means refuse to serve."""

    credentials: AdminCredentials | None
    cookies: SessionCookies
    throttle: LoginThrottle
    problems: list[str]

    @classmethod
    def from_settings(
        cls,
        settings: AdminSettings,
        *,
        service: str,
        cookie_path: str = "/",
        secure: bool | None = None,
        max_failures: int = 5,
        lockout_seconds: float = 900,
    ) -> AdminAuth:
        """Build from settings. The plain ADMIN_PASSWORD is hashed here, then dropped from
        the settings and the environment, so no later dump or child process can show it."""
        development = _is_development(settings)
        problems = missing_settings(settings)
        credentials: AdminCredentials | None = None
        username = settings.ADMIN_USERNAME or (DEV_USERNAME if development else "")
        if not problems:
            if settings.ADMIN_PASSWORD_HASH is not None:
                try:
                    credentials = AdminCredentials.from_hash(
                        username, settings.ADMIN_PASSWORD_HASH.get_secret_value()
                    )
                except ValueError as exc:
                    problems.append(str(exc))
            elif settings.ADMIN_PASSWORD is not None:
                credentials = AdminCredentials.from_password(
                    username, settings.ADMIN_PASSWORD.get_secret_value()
                )
            else:  # development only (missing_settings refused it otherwise)
                password = secrets.token_urlsafe(12)
                credentials = AdminCredentials.from_password(username, password)
                # Logged once, in development only, so a developer can sign in at all.
                logger.warning(
                    "%s: no admin credentials configured; development sign-in is %s / %s",
                    service,
                    username,
                    password,
                )
        settings.ADMIN_PASSWORD = None
        os.environ.pop("ADMIN_PASSWORD", None)
        # In development without a key, sessions simply do not survive a restart.
        key = (
            settings.SECRET_KEY.get_secret_value()
            if settings.SECRET_KEY
            else secrets.token_urlsafe(48)
        )
        cookies = SessionCookies(
            key,
            cookie_name=f"{service}_admin_session",
            salt=f"videorecs.{service}.admin-session",
            path=cookie_path,
            secure=(not development) if secure is None else secure,
        )
        throttle = LoginThrottle(max_failures=max_failures, lockout_seconds=lockout_seconds)
        return cls(credentials, cookies, throttle, problems)

    def session(self, request: Request) -> AdminSession | None:
        return self.cookies.read(request)

    def csrf_ok(self, request: Request, given: object) -> bool:
        return csrf_matches(self.cookies.read(request), given)


class SignInRequired(Exception):
    """Raised by `signed_in_admin` when the request has no signed-in session."""


def signed_in_admin(request: Request) -> AdminSession:
    """FastAPI dependency: the signed-in admin's session (auth on `app.state.admin_auth`)."""
    auth: AdminAuth = request.app.state.admin_auth
    session = auth.session(request)
    if session is None or session.user is None:
        raise SignInRequired(request.url.path)
    return session


SignedInAdmin = Annotated[AdminSession, Depends(signed_in_admin)]
