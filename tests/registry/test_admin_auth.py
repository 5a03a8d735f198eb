"""Signing in to the admin pages: sessions, CSRF, lockout, and saying nothing about users."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from services.registry.routes.admin_auth import BAD_CREDENTIALS
from tests.registry.support import (
    ADMIN,
    PASSWORD,
    build_settings,
    csrf_of,
    running,
    sign_in,
)
from tests.utils.password_checks import count_password_checks


async def test_pages_redirect_to_sign_in_without_a_session(sqlite_url: str) -> None:
    async with running(build_settings(sqlite_url)) as client:
        for path in (
            "/admin/",
            "/admin/models/new",
            "/admin/models/1/edit",
            "/admin/models/1/delete",
        ):
            answer = await client.get(path)
            assert answer.status_code == 303, path
            assert answer.headers["location"] == "/admin/login"
        posted = await client.post("/admin/models/new", data={"name": "x"})
        assert posted.status_code == 303
        assert posted.headers["location"] == "/admin/login"


async def test_sign_in_sets_a_hardened_session_cookie(sqlite_url: str) -> None:
    async with running(build_settings(sqlite_url, SESSION_COOKIE_SECURE=True)) as client:
        page = await client.get("/admin/login")
        anonymous = page.headers["set-cookie"]
        answer = await client.post(
            "/admin/login",
            data={"csrf_token": csrf_of(page.text), "username": ADMIN, "password": PASSWORD},
        )
        assert answer.status_code == 303
        assert answer.headers["location"] == "/admin/?done=signed-in"
        cookie = answer.headers["set-cookie"]
        for flag in ("HttpOnly", "SameSite=lax", "Secure", "Path=/"):
            assert flag in cookie
        # A new session (new CSRF token) after signing in: a planted cookie is useless.
        assert cookie.split(";")[0] != anonymous.split(";")[0]


async def test_signed_in_admin_sees_the_list(sqlite_url: str) -> None:
    async with running(build_settings(sqlite_url)) as client:
        await sign_in(client)
        answer = await client.get("/admin/?done=signed-in")
        assert answer.status_code == 200
        assert "Signed in." in answer.text
        assert "No models yet" in answer.text
        assert 'href="/"' in answer.text  # back to the app home
        assert answer.headers["cache-control"] == "no-store"


async def test_unknown_user_and_wrong_password_get_the_same_answer(sqlite_url: str) -> None:
    async with running(build_settings(sqlite_url)) as client:
        wrong_password = await sign_in(client, ADMIN, "not-the-password")
        unknown_user = await sign_in(client, "mallory", PASSWORD)
    assert wrong_password.status_code == unknown_user.status_code == 401
    assert BAD_CREDENTIALS in wrong_password.text
    assert BAD_CREDENTIALS in unknown_user.text

    # Apart from the echoed username and the CSRF token, the pages are identical.
    def scrub(text: str) -> str:
        return text.replace(csrf_of(text), "").replace("mallory", ADMIN)

    assert scrub(wrong_password.text) == scrub(unknown_user.text)


async def test_sign_in_without_or_with_a_bad_csrf_token_is_forbidden(sqlite_url: str) -> None:
    async with running(build_settings(sqlite_url)) as client:
        no_cookie = await client.post(
            "/admin/login", data={"csrf_token": "x", "username": ADMIN, "password": PASSWORD}
        )
        assert no_cookie.status_code == 403
        await client.get("/admin/login")
        wrong = await client.post(
            "/admin/login", data={"csrf_token": "forged", "username": ADMIN, "password": PASSWORD}
        )
        missing = await client.post("/admin/login", data={"username": ADMIN, "password": PASSWORD})
    assert wrong.status_code == missing.status_code == 403
    assert "did not come from this site" in wrong.text
    assert "set-cookie" not in wrong.headers


async def test_forms_need_the_sessions_csrf_token(sqlite_url: str) -> None:
    async with running(build_settings(sqlite_url)) as client:
        await sign_in(client)
        form = await client.get("/admin/models/new")
        token = csrf_of(form.text)
        fields = {"name": "x", "campaign_arn": "arn:aws:personalize:us-east-1:1:campaign/x"}
        for data in (fields, {**fields, "csrf_token": "forged"}, {**fields, "csrf_token": ""}):
            answer = await client.post("/admin/models/new", data={**data, "type": "ranking"})
            assert answer.status_code == 403
        assert (
            await client.post("/admin/models/1/delete", data={"csrf_token": "no"})
        ).status_code == 403
        assert (await client.post("/admin/logout", data={})).status_code == 403
        # The token of another session does not work either.
        async with running(build_settings(sqlite_url)) as other:
            await sign_in(other)
            other_token = csrf_of((await other.get("/admin/models/new")).text)
        assert other_token != token
        answer = await client.post("/admin/models/new", data={**fields, "csrf_token": other_token})
        assert answer.status_code == 403


async def test_sign_out_ends_the_session(sqlite_url: str) -> None:
    async with running(build_settings(sqlite_url)) as client:
        await sign_in(client)
        page = await client.get("/admin/")
        answer = await client.post("/admin/logout", data={"csrf_token": csrf_of(page.text)})
        assert answer.status_code == 303
        assert answer.headers["location"] == "/admin/login"
        assert (await client.get("/admin/")).status_code == 303


async def test_repeated_failures_lock_the_username_for_that_client(sqlite_url: str) -> None:
    settings = build_settings(sqlite_url, LOGIN_MAX_FAILURES=5)
    async with running(settings) as client:
        statuses = [(await sign_in(client, ADMIN, f"guess-{i}")).status_code for i in range(5)]
        assert statuses == [401, 401, 401, 401, 429]
        locked = await sign_in(client)  # even the right password is refused now
        assert locked.status_code == 429
        assert "Too many failed sign-ins" in locked.text
        assert "Try again in 15 minutes" in locked.text
        # Unknown usernames are counted the same way (no hint that they do not exist).
        unknown = [(await sign_in(client, "ghost", "x")).status_code for _ in range(5)]
        assert unknown == [401, 401, 401, 401, 429]
    # Another client address is not locked out by someone else's guessing.
    async with running(settings, client_ip="10.1.2.3") as client:
        assert (await sign_in(client)).status_code == 303


async def test_lockout_ends_after_its_time(sqlite_url: str) -> None:
    settings = build_settings(sqlite_url, LOGIN_MAX_FAILURES=2, LOGIN_LOCKOUT_SECONDS=0.3)
    async with running(settings) as client:
        assert [(await sign_in(client, ADMIN, "bad")).status_code for _ in range(2)] == [401, 429]
        assert (await sign_in(client)).status_code == 429
        await asyncio.sleep(0.35)
        assert (await sign_in(client)).status_code == 303


async def _burst(client: httpx.AsyncClient, count: int, *, spread: bool = False) -> list[int]:
    """`count` wrong sign-ins sent at once (one CSRF token); `spread`: each from its own
    address, through the trusted proxy's X-Forwarded-For."""
    token = csrf_of((await client.get("/admin/login")).text)

    async def attempt(n: int) -> int:
        headers = {"X-Forwarded-For": f"203.0.113.{n}"} if spread else {}
        answer = await client.post(
            "/admin/login",
            data={"csrf_token": token, "username": ADMIN, "password": f"guess-{n}"},
            headers=headers,
        )
        return answer.status_code

    return list(await asyncio.gather(*(attempt(n) for n in range(count))))


async def test_guesses_sent_at_once_are_checked_only_up_to_the_limit(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The attack: 40 wrong passwords at once from one address. Each used to pass the
    # lockout check while the others were still in argon2, so all 40 were tried.
    checked = count_password_checks(monkeypatch)
    async with running(build_settings(sqlite_url, LOGIN_MAX_FAILURES=5)) as client:
        statuses = await _burst(client, 40)
        assert len(checked) == 5
        # The fifth failure answers 429 itself (it locked the pair), the rest were refused.
        assert statuses.count(401) == 4 and statuses.count(429) == 36
        locked = await sign_in(client)
        assert locked.status_code == 429
        assert "Too many failed sign-ins for this username from your address" in locked.text
    assert len(checked) == 5  # the right password was not checked either


async def test_guesses_sent_at_once_from_many_addresses_stop_at_the_username_limit(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    checked = count_password_checks(monkeypatch)
    settings = build_settings(sqlite_url, LOGIN_MAX_FAILURES=5, LOGIN_MAX_FAILURES_PER_USERNAME=20)
    async with running(settings, forwarded_allow_ips="127.0.0.1") as client:
        statuses = await _burst(client, 40, spread=True)
        assert len(checked) == 20
        assert statuses.count(401) == 19 and statuses.count(429) == 21
        locked = await client.post(
            "/admin/login",
            data={
                "csrf_token": csrf_of((await client.get("/admin/login")).text),
                "username": ADMIN,
                "password": PASSWORD,
            },
            headers={"X-Forwarded-For": "198.51.100.250"},
        )
        assert locked.status_code == 429
        assert "Too many failed sign-ins for this username. Try again" in locked.text
    assert len(checked) == 20


async def test_links_follow_the_path_prefix(sqlite_url: str) -> None:
    # Behind the frontend's proxy the pages live under /api/registry/admin/.
    async with running(build_settings(sqlite_url), root_path="/api/registry") as client:
        page = await client.get("/admin/login")
        assert 'action="/api/registry/admin/login"' in page.text
        assert 'href="/api/registry/admin/static/admin.css"' in page.text
        assert "Path=/api/registry" in page.headers["set-cookie"]
        answer = await client.post(
            "/admin/login",
            data={"csrf_token": csrf_of(page.text), "username": ADMIN, "password": PASSWORD},
        )
        assert answer.headers["location"] == "/api/registry/admin/?done=signed-in"
        css = await client.get("/admin/static/admin.css")
        assert css.status_code == 200
        assert "text/css" in css.headers["content-type"]
    settings = build_settings(sqlite_url, ROOT_PATH="/prefix/", HOME_URL="/app/")
    async with running(settings) as client:
        page = await client.get("/admin/login")
        assert 'action="/prefix/admin/login"' in page.text
        assert 'href="/app/"' in page.text
        bare = await client.get("/admin")
        assert bare.headers["location"] == "/prefix/admin/"
    # Without ROOT_PATH, a proxy's X-Forwarded-Prefix shapes the links (when well-formed).
    async with running(build_settings(sqlite_url)) as client:
        proxied = await client.get("/admin/login", headers={"X-Forwarded-Prefix": "/api/registry/"})
        assert 'action="/api/registry/admin/login"' in proxied.text
        assert "Path=/api/registry" in proxied.headers["set-cookie"]
        odd = await client.get("/admin/login", headers={"X-Forwarded-Prefix": "//evil.example"})
        assert 'action="/admin/login"' in odd.text


async def test_page_text_is_escaped(sqlite_url: str) -> None:
    async with running(build_settings(sqlite_url)) as client:
        answer = await sign_in(client, "<script>alert(1)</script>", "x")
    assert "<script>alert(1)</script>" not in answer.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in answer.text
