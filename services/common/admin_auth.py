"""Admin sign-in for server-rendered pages: password hash, session cookie, CSRF, lockout.

The generic part of the admin rules every service with admin pages follows:

- credentials come from the environment (`ADMIN_USERNAME`, `ADMIN_PASSWORD` or the
  argon2 `ADMIN_PASSWORD_HASH`, `SECRET_KEY`); a plain password is hashed at once and
  only the hash is kept and compared;
- outside development nothing has a default: `missing_settings` names what is missing;
  in development without a password, sign-in is disabled (and the log says so);
- the session is a signed (itsdangerous), HttpOnly, SameSite=Lax cookie holding the user,
  the session's CSRF token and, once signed in, a random session id that must be live in
  the service's `SessionStore` (services.common.admin_sessions): signing out deletes it
  there, so a copied cookie stops working too; signing in issues a fresh session;
- an unknown user and a wrong password get the same answer and cost the same argon2 work;
- repeated failures lock a username+client pair out for a while, and more failures lock
  the username out from every client (in process memory). The client is the address
  uvicorn took from trusted proxies only (`--forwarded-allow-ips`), and since the username
  lock ignores it, no forged address buys more guesses. Attempts still being checked
  count against the limits too, so guesses sent all at once get no more checks than
  guesses sent one by one (`AdminAuth.check_password`).

A service builds one `AdminAuth` with `AdminAuth.from_settings(...)`, keeps it on
`app.state.admin_auth`, and guards pages with `SignedInAdmin` (raises `SignInRequired`,
which the service turns into a redirect to its sign-in page).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Protocol

from argon2 import PasswordHasher, extract_parameters
from argon2.exceptions import InvalidHashError, VerificationError
from argon2.profiles import RFC_9106_LOW_MEMORY
from fastapi import Depends, Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer
from pydantic import SecretStr

from services.common.admin_sessions import (
    MemorySessionStore,
    SessionStore,
    new_session_id,
    store_key,
)
from services.common.config import PLACEHOLDER_SECRETS

__all__ = [
    "AdminAuth",
    "AdminCredentials",
    "AdminSession",
    "LoginThrottle",
    "Lockout",
    "SessionCookies",
    "SignInCheck",
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
# Failures one username may have from all clients together before every client is locked
# out for it: above the per-client limit, so one person's typos never reach it.
DEFAULT_MAX_USERNAME_FAILURES = 20
# Bound each lockout table so a flood of distinct usernames cannot grow memory.
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
    """A cookie's content. Signed in only with a user and a session id the store knows
    (`AdminAuth.session` checks); an anonymous one just carries a form's CSRF token."""

    csrf_token: str
    user: str | None = None
    session_id: str | None = None


def new_session(user: str | None = None) -> AdminSession:
    """A fresh session; one for a user gets a new random id (`AdminAuth.sign_in` stores it)."""
    return AdminSession(
        csrf_token=secrets.token_urlsafe(32),
        user=user,
        session_id=new_session_id() if user is not None else None,
    )


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
        user, session_id = data.get("user"), data.get("sid")
        return AdminSession(
            csrf_token=data["csrf"],
            user=user if isinstance(user, str) else None,
            session_id=session_id if isinstance(session_id, str) else None,
        )

    def write(self, response: Response, session: AdminSession, *, path: str | None = None) -> None:
        """Set the cookie; `path` overrides the default (e.g. the mount's root path)."""
        response.set_cookie(
            self.cookie_name,
            self._serializer.dumps(
                {"csrf": session.csrf_token, "user": session.user, "sid": session.session_id}
            ),
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


class _Lockouts:
    """Failures per key within a window; the `limit`-th locks the key for `lockout` seconds.

    Both tables are bounded by `MAX_TRACKED`: past it the key that failed least recently
    (or the lock that ends soonest) is dropped. Flushing a lock out that way takes
    `MAX_TRACKED` fresh lockouts, each of them `limit` argon2 verifications, within the
    lockout time. Attempts in flight (`start`ed, not yet `end`ed) are only as many as the
    requests being checked right now, so that table needs no bound of its own.
    """

    def __init__(self, *, limit: int, window: float, lockout: float, clock: Callable[[], float]):
        self.limit = limit
        self.window = window
        self.lockout = lockout
        self._clock = clock
        self._failures: dict[object, deque[float]] = {}
        # Insertion order is expiry order: every lock lasts `lockout`.
        self._locked_until: dict[object, float] = {}
        self._in_flight: dict[object, int] = {}

    def locked_for(self, key: object) -> float:
        until = self._locked_until.get(key)
        if until is None:
            return 0.0
        left = until - self._clock()
        if left <= 0:
            del self._locked_until[key]
            return 0.0
        return left

    def failed(self, key: object) -> bool:
        now = self._clock()
        # Re-inserted on every failure, so the first key is the least recently failed.
        failures = self._failures.pop(key, None) or deque()
        while self._failures and len(self._failures) >= MAX_TRACKED:
            del self._failures[next(iter(self._failures))]
        failures.append(now)
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        if len(failures) < self.limit:
            self._failures[key] = failures
            return False
        self._locked_until.pop(key, None)
        while self._locked_until and len(self._locked_until) >= MAX_TRACKED:
            del self._locked_until[next(iter(self._locked_until))]
        self._locked_until[key] = now + self.lockout
        return True

    def reset(self, key: object) -> None:
        self._failures.pop(key, None)

    def full(self, key: object) -> bool:
        """Whether the failures within the window and the attempts in flight together
        reach the limit: one more attempt could then fail past it."""
        cutoff = self._clock() - self.window
        recent = sum(1 for at in self._failures.get(key, ()) if at > cutoff)
        return recent + self._in_flight.get(key, 0) >= self.limit

    def start(self, key: object) -> None:
        self._in_flight[key] = self._in_flight.get(key, 0) + 1

    def end(self, key: object) -> None:
        left = self._in_flight.get(key, 0) - 1
        if left > 0:
            self._in_flight[key] = left
        else:
            self._in_flight.pop(key, None)


@dataclass(frozen=True)
class Lockout:
    """A sign-in refused for `seconds`. `every_client`: the username's lockout, which holds
    for every client, rather than just this username+client pair's."""

    seconds: float
    every_client: bool


class LoginThrottle:
    """Sign-in lockouts, in memory (one count per process).

    `max_failures` failures within `window_seconds` lock a username+client pair out for
    `lockout_seconds`; `max_username_failures` failures of one username from any clients
    lock that username out from every client. The client address is only as good as the
    proxies uvicorn trusts, so the username limit is what bounds guessing: changing the
    address buys no more tries. The price is that anyone can lock the admin out for a
    while by failing on purpose; they still cannot guess the password.
    """

    def __init__(
        self,
        *,
        max_failures: int = 5,
        window_seconds: float = 900,
        lockout_seconds: float = 900,
        max_username_failures: int = DEFAULT_MAX_USERNAME_FAILURES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.max_username_failures = max_username_failures
        self.window = window_seconds
        self.lockout = lockout_seconds
        self._pairs = _Lockouts(
            limit=max_failures, window=window_seconds, lockout=lockout_seconds, clock=clock
        )
        self._usernames = _Lockouts(
            limit=max_username_failures, window=window_seconds, lockout=lockout_seconds, clock=clock
        )

    @staticmethod
    def key(username: str, client: str) -> tuple[str, str]:
        return (username.strip().lower(), client)

    def locked_for(self, key: tuple[str, str]) -> float:
        """Seconds left on the pair's or the username's lockout; 0 when it may try again."""
        return max(self._pairs.locked_for(key), self._usernames.locked_for(key[0]))

    def username_locked(self, key: tuple[str, str]) -> bool:
        """Whether the lockout (if any) holds for every client, not just this one."""
        return self._usernames.locked_for(key[0]) > 0

    def failed(self, key: tuple[str, str]) -> bool:
        """Record a failure; True when this one locked the pair or the username out."""
        pair_locked = self._pairs.failed(key)
        username_locked = self._usernames.failed(key[0])
        return pair_locked or username_locked

    def succeeded(self, key: tuple[str, str]) -> None:
        """Forget the pair's failures. The username's stay: the right password from one
        place must not hand back the guesses someone else spent from another."""
        self._pairs.reset(key)

    def begin(self, key: tuple[str, str]) -> Lockout | None:
        """Reserve one attempt for `key` (None), or refuse it (the lockout to report).

        Checking `locked_for` and counting the failure only after the password check let
        every request sent at once pass before the first failure was counted. So attempts
        in flight count like failures: once they and the failures reach either limit, more
        are refused until they end. Act on the answer with no await in between, and end
        every reserved attempt with `finish` (`AdminAuth.check_password` does both).
        """
        if left := self.locked_for(key):
            return Lockout(left, every_client=self.username_locked(key))
        username_full = self._usernames.full(key[0])
        if username_full or self._pairs.full(key):
            # Not locked yet, but it will be if the attempts in flight all fail: report
            # the lockout they would start (a lucky right password ends it sooner).
            return Lockout(self.lockout, every_client=username_full)
        self._pairs.start(key)
        self._usernames.start(key[0])
        return None

    def finish(self, key: tuple[str, str], *, success: bool) -> bool:
        """End an attempt `begin` reserved: a failure is counted (`failed`: True when it
        locked the pair or the username out); a success forgets what `succeeded` forgets."""
        self._pairs.end(key)
        self._usernames.end(key[0])
        if success:
            self.succeeded(key)
            return False
        return self.failed(key)


@dataclass(frozen=True)
class SignInCheck:
    """What `AdminAuth.check_password` found. `checked` is False when a lockout refused the
    attempt before its password was looked at; `lockout` is the lockout in force after a
    failed attempt (None while the client may try again)."""

    checked: bool
    signed_in: bool
    lockout: Lockout | None


@dataclass
class AdminAuth:
    """Everything one service's admin pages need; `problems` non-empty means refuse to serve."""

    credentials: AdminCredentials | None
    cookies: SessionCookies
    throttle: LoginThrottle
    problems: list[str]
    # Live signed-in sessions; a service with a database swaps in a store backed by it.
    sessions: SessionStore = field(default_factory=MemorySessionStore)

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
        max_username_failures: int = DEFAULT_MAX_USERNAME_FAILURES,
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
                # Sign-in stays closed: the password is random and never shown. Logging a
                # made-up one put it in every log file (`videorecs up` keeps them on disk);
                # writing it to a private file needs a folder the service does not own.
                # So no secret exists anywhere, and the log says how to open sign-in.
                credentials = AdminCredentials.from_password(username, secrets.token_urlsafe(32))
                logger.warning(
                    "%s: no ADMIN_PASSWORD set: admin sign-in is disabled until ADMIN_PASSWORD "
                    "or ADMIN_PASSWORD_HASH is set",
                    service,
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
        throttle = LoginThrottle(
            max_failures=max_failures,
            lockout_seconds=lockout_seconds,
            max_username_failures=max_username_failures,
        )
        return cls(credentials, cookies, throttle, problems)

    async def check_password(self, username: str, password: str, client: str) -> SignInCheck:
        """Check a sign-in against the credentials under the lockouts: the one way every
        service's sign-in route checks a password, so no route can skip the reservation
        or leave it unfinished."""
        if self.credentials is None:  # services refuse to serve sign-in without them
            raise RuntimeError("admin sign-in is not configured")
        key = self.throttle.key(username, client)
        if refused := self.throttle.begin(key):
            return SignInCheck(checked=False, signed_in=False, lockout=refused)
        signed_in = False
        try:
            # argon2 takes tens of milliseconds of CPU: keep it off the event loop.
            signed_in = await asyncio.to_thread(self.credentials.verify, username, password)
        finally:
            # Also when the check raised or the request was cancelled: the guess was
            # made, so it counts as a failure rather than coming back for free.
            self.throttle.finish(key, success=signed_in)
        lockout = None
        if not signed_in and (left := self.throttle.locked_for(key)):
            lockout = Lockout(left, every_client=self.throttle.username_locked(key))
        return SignInCheck(checked=True, signed_in=signed_in, lockout=lockout)

    def cookie(self, request: Request) -> AdminSession | None:
        """The cookie's session as signed, not checked against the store: enough to read
        a form's CSRF token, never to tell who is signed in (that is `session`)."""
        return self.cookies.read(request)

    async def session(self, request: Request) -> AdminSession | None:
        """The request's session. One naming a user counts only while its id is live in
        the store; after sign-out or expiry it reads as None, like no cookie at all."""
        session = self.cookies.read(request)
        if session is None or session.user is None:
            return session
        if session.session_id is None:
            return None
        user = await self.sessions.user_of(store_key(session.session_id))
        if user is None or not hmac.compare_digest(user.encode(), session.user.encode()):
            return None
        return session

    async def sign_in(
        self, request: Request, response: Response, user: str, *, path: str | None = None
    ) -> None:
        """Start a new session for `user` (new id and CSRF token) and set its cookie; a
        session the request still had is ended first."""
        previous = self.cookies.read(request)
        if previous is not None and previous.session_id is not None:
            await self.sessions.revoke(store_key(previous.session_id))
        session = new_session(user)
        assert session.session_id is not None
        await self.sessions.add(
            store_key(session.session_id), user=user, max_age=self.cookies.max_age
        )
        self.cookies.write(response, session, path=path)

    async def sign_out(
        self, request: Request, response: Response, *, path: str | None = None
    ) -> None:
        """End the request's session in the store (every copy of the cookie with it) and
        clear the cookie."""
        session = self.cookies.read(request)
        if session is not None and session.session_id is not None:
            await self.sessions.revoke(store_key(session.session_id))
        self.cookies.clear(response, path=path)

    def csrf_ok(self, request: Request, given: object) -> bool:
        return csrf_matches(self.cookies.read(request), given)


class SignInRequired(Exception):
    """Raised by `signed_in_admin` when the request has no signed-in session."""


async def signed_in_admin(request: Request) -> AdminSession:
    """FastAPI dependency: the signed-in admin's session (auth on `app.state.admin_auth`),
    also left on `request.state.admin_session` for page rendering."""
    auth: AdminAuth = request.app.state.admin_auth
    session = await auth.session(request)
    if session is None or session.user is None:
        raise SignInRequired(request.url.path)
    request.state.admin_session = session
    return session


SignedInAdmin = Annotated[AdminSession, Depends(signed_in_admin)]
