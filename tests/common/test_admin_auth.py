"""services.common.admin_auth: hashing, credentials, cookies, CSRF, lockout, the dependency."""

from __future__ import annotations

import logging
import os

import httpx
import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.common import admin_auth
from services.common.admin_auth import (
    AdminAuth,
    AdminCredentials,
    AdminSession,
    Lockout,
    LoginThrottle,
    SessionCookies,
    SignedInAdmin,
    SignInCheck,
    SignInRequired,
    csrf_matches,
    hash_password,
    missing_settings,
    new_session,
)
from services.common.admin_sessions import MemorySessionStore, store_key

STRONG_KEY = "k" * 40
# Tests that are not about the production parameters use a cheap argon2 hash: the
# credentials verify with the parameters stored in the hash itself.
CHEAP = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


class AdminTestSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=None, extra="ignore", case_sensitive=True, env_prefix="NOPE_"
    )

    ENVIRONMENT: str = "production"
    ADMIN_USERNAME: str | None = None
    ADMIN_PASSWORD: SecretStr | None = None
    ADMIN_PASSWORD_HASH: SecretStr | None = None
    SECRET_KEY: SecretStr | None = None


def settings(**values: object) -> AdminTestSettings:
    return AdminTestSettings(**values)  # type: ignore[arg-type]


def test_exports() -> None:
    for name in admin_auth.__all__:
        assert hasattr(admin_auth, name), name


def test_hash_is_salted_argon2id() -> None:
    first, second = hash_password("s3cret-pass"), hash_password("s3cret-pass")
    assert first.startswith("$argon2id$")
    assert first != second  # a fresh salt each time
    assert "s3cret-pass" not in first


def test_credentials_verify() -> None:
    creds = AdminCredentials.from_hash("root", CHEAP.hash("right-password"))
    assert creds.verify("root", "right-password")
    assert not creds.verify("root", "wrong-password")
    assert not creds.verify("someone", "right-password")
    assert "right-password" not in repr(creds)


def test_credentials_from_password_uses_the_production_profile() -> None:
    creds = AdminCredentials.from_password("root", "from-password")
    assert creds.password_hash.startswith("$argon2id$v=19$m=65536,t=3")
    assert creds.verify("root", "from-password")


def test_credentials_reject_non_argon2_hash() -> None:
    with pytest.raises(ValueError, match="not an argon2 hash"):
        AdminCredentials.from_hash("root", "plain-text")


def test_missing_settings_in_production_names_each() -> None:
    assert missing_settings(settings()) == [
        "ADMIN_USERNAME is not set",
        "ADMIN_PASSWORD or ADMIN_PASSWORD_HASH is not set",
        "SECRET_KEY is not set",
    ]


def test_missing_settings_rejects_placeholders_and_short_keys() -> None:
    problems = missing_settings(
        settings(ADMIN_USERNAME="root", ADMIN_PASSWORD="changeme", SECRET_KEY="short")
    )
    assert problems == [
        "ADMIN_PASSWORD is a placeholder value; set a real password",
        "SECRET_KEY must be at least 32 characters",
    ]


def test_missing_settings_none_in_development() -> None:
    assert missing_settings(settings(ENVIRONMENT="development")) == []
    assert (
        missing_settings(
            settings(ADMIN_USERNAME="root", ADMIN_PASSWORD="good-password", SECRET_KEY=STRONG_KEY)
        )
        == []
    )


def test_from_settings_production_without_settings_refuses() -> None:
    auth = AdminAuth.from_settings(settings(), service="svc")
    assert auth.credentials is None
    assert "SECRET_KEY is not set" in auth.problems
    assert auth.cookies.secure is True


def test_from_settings_hashes_and_drops_the_plain_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADMIN_PASSWORD", "good-password")
    s = settings(ADMIN_USERNAME="root", ADMIN_PASSWORD="good-password", SECRET_KEY=STRONG_KEY)
    auth = AdminAuth.from_settings(s, service="svc")
    assert auth.problems == []
    assert auth.credentials is not None and auth.credentials.verify("root", "good-password")
    assert s.ADMIN_PASSWORD is None
    assert "ADMIN_PASSWORD" not in os.environ


def test_from_settings_bad_hash_is_a_problem() -> None:
    s = settings(ADMIN_USERNAME="root", ADMIN_PASSWORD_HASH="md5:abc", SECRET_KEY=STRONG_KEY)
    auth = AdminAuth.from_settings(s, service="svc")
    assert auth.problems == ["ADMIN_PASSWORD_HASH is not an argon2 hash"]


def test_from_settings_development_without_a_password_disables_sign_in_and_logs_no_secret(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """No password is made up and logged (logs are kept on disk): one notice says which
    setting opens sign-in, and no password signs in meanwhile."""
    with caplog.at_level(logging.DEBUG):
        auth = AdminAuth.from_settings(settings(ENVIRONMENT="development"), service="svc")
    notes = [r.getMessage() for r in caplog.records if "sign-in is disabled" in r.getMessage()]
    assert notes == [
        "svc: no ADMIN_PASSWORD set: admin sign-in is disabled until ADMIN_PASSWORD or "
        "ADMIN_PASSWORD_HASH is set"
    ]
    assert auth.problems == []
    assert auth.credentials is not None
    for guess in ("", "admin", "password", "development"):
        assert not auth.credentials.verify("admin", guess)
    assert auth.cookies.secure is False


def _cookie_app(cookies: SessionCookies) -> FastAPI:
    app = FastAPI()

    @app.get("/write")
    async def write() -> PlainTextResponse:
        response = PlainTextResponse("ok")
        cookies.write(response, AdminSession(csrf_token="tok", user="root"))
        return response

    @app.get("/read")
    async def read(request: Request) -> JSONResponse:
        session = cookies.read(request)
        return JSONResponse(
            None if session is None else {"csrf": session.csrf_token, "user": session.user}
        )

    return app


async def test_session_cookie_round_trip_and_flags() -> None:
    cookies = SessionCookies(STRONG_KEY, cookie_name="s", salt="t", path="/admin", secure=True)
    transport = httpx.ASGITransport(app=_cookie_app(cookies))
    async with httpx.AsyncClient(transport=transport, base_url="https://test") as client:
        response = await client.get("/write")
        header = response.headers["set-cookie"].lower()
        assert (
            "httponly" in header
            and "samesite=lax" in header
            and "secure" in header
            and "path=/admin" in header
        )
        value = response.cookies["s"]
        read = await client.get("/read", headers={"cookie": f"s={value}"})
        assert read.json() == {"csrf": "tok", "user": "root"}
        tampered = value[:-2] + ("AA" if not value.endswith("AA") else "BB")
        assert (await client.get("/read", headers={"cookie": f"s={tampered}"})).json() is None
        other_key = SessionCookies("z" * 40, cookie_name="s", salt="t")
        transport2 = httpx.ASGITransport(app=_cookie_app(other_key))
        async with httpx.AsyncClient(transport=transport2, base_url="https://test") as client2:
            assert (await client2.get("/read", headers={"cookie": f"s={value}"})).json() is None


def test_csrf_matches() -> None:
    session = new_session("root")
    assert csrf_matches(session, session.csrf_token)
    assert not csrf_matches(session, "forged")
    assert not csrf_matches(session, "")
    assert not csrf_matches(session, None)
    assert not csrf_matches(None, session.csrf_token)
    assert new_session().csrf_token != session.csrf_token


def test_throttle_locks_out_then_releases() -> None:
    now = [1000.0]
    throttle = LoginThrottle(
        max_failures=3, window_seconds=60, lockout_seconds=120, clock=lambda: now[0]
    )
    key = throttle.key(" Root ", "10.0.0.1")
    assert key == ("root", "10.0.0.1")
    assert not throttle.failed(key)
    assert not throttle.failed(key)
    assert throttle.failed(key)
    assert throttle.locked_for(key) == pytest.approx(120)
    assert throttle.locked_for(throttle.key("root", "10.0.0.2")) == 0  # another client
    now[0] += 121
    assert throttle.locked_for(key) == 0


def test_throttle_window_forgets_old_failures_and_success_resets() -> None:
    now = [0.0]
    throttle = LoginThrottle(
        max_failures=2, window_seconds=10, lockout_seconds=60, clock=lambda: now[0]
    )
    key = throttle.key("root", "c")
    throttle.failed(key)
    now[0] += 11
    assert not throttle.failed(key)  # the first failure left the window
    throttle.succeeded(key)
    assert not throttle.failed(key)


async def test_signed_in_admin_dependency() -> None:
    app = _session_app(_auth())

    @app.get("/anonymous")
    async def anonymous() -> PlainTextResponse:
        response = PlainTextResponse("ok")
        app.state.admin_auth.cookies.write(response, new_session())
        return response

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as client:
        assert (await client.get("/private")).status_code == 401
        await client.get("/anonymous")
        assert (await client.get("/private")).status_code == 401  # a session without a user
        await client.get("/login")
        response = await client.get("/private")
        assert response.status_code == 200 and response.json() == {"user": "root"}


def _session_app(auth: AdminAuth) -> FastAPI:
    """/login signs in as root, /logout signs out, /private needs a live session."""
    app = FastAPI()
    app.state.admin_auth = auth

    async def to_sign_in(_: object, __: Exception) -> PlainTextResponse:
        return PlainTextResponse("sign in", status_code=401)

    app.add_exception_handler(SignInRequired, to_sign_in)  # type: ignore[arg-type]

    @app.get("/private")
    async def private(admin: SignedInAdmin) -> dict[str, str | None]:
        return {"user": admin.user}

    @app.get("/login")
    async def login(request: Request) -> PlainTextResponse:
        response = PlainTextResponse("ok")
        await auth.sign_in(request, response, "root")
        return response

    @app.get("/logout")
    async def logout(request: Request) -> PlainTextResponse:
        response = PlainTextResponse("bye")
        await auth.sign_out(request, response)
        return response

    return app


def _auth() -> AdminAuth:
    return AdminAuth.from_settings(
        settings(
            ADMIN_USERNAME="root", ADMIN_PASSWORD_HASH=CHEAP.hash("pw"), SECRET_KEY=STRONG_KEY
        ),
        service="svc",
        secure=False,
    )


async def test_sign_out_revokes_every_copy_of_the_cookie() -> None:
    auth = _auth()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=_session_app(auth)), base_url="http://test"
    ) as client:
        await client.get("/login")
        saved = client.cookies["svc_admin_session"]
        assert (await client.get("/private")).status_code == 200
        await client.get("/logout")
        # The attack: a copy of the cookie taken before the sign-out, replayed after it.
        replay = await client.get("/private", headers={"cookie": f"svc_admin_session={saved}"})
        assert replay.status_code == 401
    assert isinstance(auth.sessions, MemorySessionStore) and len(auth.sessions) == 0


async def test_signing_in_again_ends_the_previous_session() -> None:
    auth = _auth()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=_session_app(auth)), base_url="http://test"
    ) as client:
        await client.get("/login")
        first = client.cookies["svc_admin_session"]
        await client.get("/login")
        assert (await client.get("/private")).status_code == 200
        replay = await client.get("/private", headers={"cookie": f"svc_admin_session={first}"})
        assert replay.status_code == 401


async def test_a_signed_cookie_the_store_never_saw_is_not_signed_in() -> None:
    # Signed with the right key but never stored (as an old cookie without a session id, or
    # one whose row was swept): the signature alone no longer signs anybody in.
    auth = _auth()
    app = _session_app(auth)
    response = PlainTextResponse("")
    auth.cookies.write(response, new_session("root"))
    forged = response.headers["set-cookie"].split(";")[0]
    legacy = PlainTextResponse("")
    auth.cookies.write(legacy, AdminSession(csrf_token="tok", user="root"))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as client:
        assert (await client.get("/private", headers={"cookie": forged})).status_code == 401
        old = legacy.headers["set-cookie"].split(";")[0]
        assert (await client.get("/private", headers={"cookie": old})).status_code == 401


async def test_sessions_expire_on_the_server_at_their_max_age() -> None:
    now = [0.0]
    store = MemorySessionStore(clock=lambda: now[0])
    await store.add(store_key("sid"), user="root", max_age=60)
    assert await store.user_of(store_key("sid")) == "root"
    now[0] += 59
    assert await store.user_of(store_key("sid")) == "root"
    now[0] += 1
    assert await store.user_of(store_key("sid")) is None
    assert len(store) == 0


async def test_memory_session_store_is_bounded_and_drops_the_oldest() -> None:
    store = MemorySessionStore(max_sessions=3)
    for n in range(5):
        await store.add(f"k{n}", user="root", max_age=60)
    assert len(store) == 3
    assert await store.user_of("k0") is None and await store.user_of("k1") is None
    assert await store.user_of("k4") == "root"
    await store.revoke("k4")
    assert await store.user_of("k4") is None


def test_store_key_is_a_hash_not_the_session_id() -> None:
    key = store_key("the-session-id")
    assert len(key) == 64 and "the-session-id" not in key
    assert key == store_key("the-session-id") != store_key("another-id")


def test_a_new_address_per_try_buys_no_extra_guesses() -> None:
    # X-Forwarded-For spoofing, replayed on the throttle: every failure from a fresh address.
    now = [0.0]
    throttle = LoginThrottle(
        max_failures=5,
        max_username_failures=20,
        window_seconds=900,
        lockout_seconds=900,
        clock=lambda: now[0],
    )
    results = [throttle.failed(throttle.key("root", f"203.0.113.{n}")) for n in range(20)]
    assert results == [False] * 19 + [True]
    # Now every address is locked for the username, a new one and the admin's own alike.
    for client in ("198.51.100.99", "127.0.0.1", "unknown"):
        key = throttle.key("Root", client)
        assert throttle.locked_for(key) == pytest.approx(900)
        assert throttle.username_locked(key)
    # Other usernames are untouched.
    assert throttle.locked_for(throttle.key("someone", "203.0.113.1")) == 0
    now[0] += 900
    assert throttle.locked_for(throttle.key("root", "198.51.100.99")) == 0


def test_success_does_not_refund_the_usernames_failures() -> None:
    throttle = LoginThrottle(max_failures=5, max_username_failures=6, clock=lambda: 0.0)
    for n in range(5):
        throttle.failed(throttle.key("root", f"10.0.0.{n}"))
    throttle.succeeded(throttle.key("root", "10.0.0.1"))
    assert throttle.failed(throttle.key("root", "10.0.0.9")) is True
    assert throttle.locked_for(throttle.key("root", "10.0.0.1")) > 0


def test_attempts_in_flight_count_against_the_pairs_limit() -> None:
    # The race, replayed on the throttle: every attempt begins before any has finished.
    throttle = LoginThrottle(max_failures=3, lockout_seconds=900, clock=lambda: 0.0)
    key = throttle.key("root", "10.0.0.1")
    assert [throttle.begin(key) for _ in range(5)] == [None] * 3 + [Lockout(900, False)] * 2
    # Nothing is locked yet (those in flight may be right), but no fourth check starts.
    assert throttle.locked_for(key) == 0
    assert throttle.begin(throttle.key("root", "10.0.0.2")) is None  # another client
    assert [throttle.finish(key, success=False) for _ in range(3)] == [False, False, True]
    assert throttle.locked_for(key) == pytest.approx(900)
    assert throttle.begin(key) == Lockout(pytest.approx(900), False)


def test_attempts_in_flight_count_against_the_usernames_limit() -> None:
    throttle = LoginThrottle(max_failures=3, max_username_failures=4, clock=lambda: 0.0)
    for n in range(4):
        assert throttle.begin(throttle.key("root", f"10.0.0.{n}")) is None
    refused = throttle.begin(throttle.key("Root", "10.9.9.9"))
    assert refused is not None and refused.every_client
    assert throttle.begin(throttle.key("someone", "10.9.9.9")) is None  # other usernames


def test_finish_frees_the_place_and_a_success_keeps_the_usernames_failures() -> None:
    throttle = LoginThrottle(max_failures=2, max_username_failures=3, clock=lambda: 0.0)
    mine, theirs = throttle.key("root", "a"), throttle.key("root", "b")
    assert throttle.begin(theirs) is None
    assert throttle.finish(theirs, success=False) is False
    assert throttle.begin(mine) is None
    assert throttle.finish(mine, success=False) is False
    assert throttle.begin(mine) is None
    assert throttle.finish(mine, success=True) is False
    # The success cleared my pair's failure, not the username's two: one more try fits.
    assert throttle.begin(mine) is None
    assert throttle.begin(mine) == Lockout(throttle.lockout, True)
    assert throttle.finish(mine, success=False) is True  # the username's third failure
    assert throttle.locked_for(theirs) > 0 and throttle.username_locked(theirs)


def test_failures_that_left_the_window_leave_room_for_attempts() -> None:
    now = [0.0]
    throttle = LoginThrottle(max_failures=2, window_seconds=10, clock=lambda: now[0])
    key = throttle.key("root", "c")
    assert throttle.begin(key) is None
    throttle.finish(key, success=False)
    now[0] += 11
    assert throttle.begin(key) is None
    assert throttle.begin(key) is None
    assert throttle.begin(key) is not None


def _throttled_auth(**kwargs: object) -> AdminAuth:
    return AdminAuth.from_settings(
        settings(
            ADMIN_USERNAME="root", ADMIN_PASSWORD_HASH=CHEAP.hash("pw"), SECRET_KEY=STRONG_KEY
        ),
        service="t",
        **kwargs,  # type: ignore[arg-type]
    )


async def test_check_password_answers_under_the_lockouts() -> None:
    auth = _throttled_auth(max_failures=2, lockout_seconds=600)
    assert await auth.check_password("root", "pw", "c") == SignInCheck(True, True, None)
    assert await auth.check_password("root", "no", "c") == SignInCheck(True, False, None)
    locked = await auth.check_password("root", "no", "c")
    assert locked.checked and not locked.signed_in
    assert locked.lockout == Lockout(pytest.approx(600), False)
    refused = await auth.check_password("root", "pw", "c")
    assert not refused.checked and not refused.signed_in and refused.lockout is not None


async def test_check_password_counts_a_check_that_raised_as_a_failure(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    auth = _throttled_auth(max_failures=2)

    def broken(self: AdminCredentials, username: str, password: str) -> bool:
        raise RuntimeError("argon2 broke")

    monkeypatch.setattr(AdminCredentials, "verify", broken)
    for _ in range(2):
        with pytest.raises(RuntimeError):
            await auth.check_password("root", "pw", "c")
    monkeypatch.undo()
    # Both were finished (no place is held forever) and counted: the pair is locked.
    assert not auth.throttle._pairs._in_flight and not auth.throttle._usernames._in_flight
    assert not (await auth.check_password("root", "pw", "c")).checked


def test_throttle_tables_stay_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(admin_auth, "MAX_TRACKED", 50)
    throttle = LoginThrottle(max_failures=2, max_username_failures=2, clock=lambda: 0.0)
    for n in range(500):
        for _ in range(2):
            throttle.failed(throttle.key(f"user-{n}", "10.0.0.1"))
    for table in (throttle._pairs, throttle._usernames):
        assert len(table._failures) <= 50 and len(table._locked_until) <= 50
    # The newest lockouts are the ones kept.
    assert throttle.locked_for(throttle.key("user-499", "10.0.0.1")) > 0
