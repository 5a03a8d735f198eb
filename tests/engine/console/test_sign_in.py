"""Console sign-in rules: redirect without a session, CSRF on every form, lockout (no
forged X-Forwarded-For buys more guesses), sign-out that ends the session on the server,
one answer for unknown users and wrong passwords, refusal without settings in production."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from services.engine.config import Settings
from services.engine.console import create_console, mount_console
from tests.engine.console.conftest import ADMIN_USERNAME, LOCKOUT_FAILURES
from tests.engine.console.helpers import BAD_CREDENTIALS, csrf_of, sign_in
from tests.utils.credentials import engine_keys_env
from tests.utils.password_checks import count_password_checks
from tests.utils.servers import RunningServer


@pytest.fixture
def client(console_engine: RunningServer) -> httpx.Client:
    with httpx.Client(base_url=console_engine.url, timeout=30) as c:
        yield c


def test_no_session_redirects_to_sign_in(client: httpx.Client) -> None:
    response = client.get("/console/")
    assert response.status_code == 303
    assert response.headers["location"] == "/console/sign-in"
    response = client.get("/console/groups/anything")
    assert response.status_code == 303
    assert response.headers["location"] == "/console/sign-in?next=/console/groups/anything"
    assert client.get("/console/status", params={"arn": "x"}).status_code == 303


def test_sign_in_sets_a_signed_httponly_samesite_cookie(
    client: httpx.Client, admin_password: str
) -> None:
    response = sign_in(client, ADMIN_USERNAME, admin_password)
    assert response.status_code == 303 and response.headers["location"] == "/console/"
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/console" in cookie
    home = client.get("/console/")
    assert home.status_code == 200
    assert "Dataset groups" in home.text and ADMIN_USERNAME in home.text
    assert home.headers["cache-control"] == "no-store"


def test_sign_in_returns_to_next(client: httpx.Client, admin_password: str) -> None:
    token = csrf_of(client.get("/console/sign-in", params={"next": "/console/groups/g1"}).text)
    response = client.post(
        "/console/sign-in",
        data={
            "username": ADMIN_USERNAME,
            "password": admin_password,
            "csrf_token": token,
            "next": "/console/groups/g1",
        },
    )
    assert response.headers["location"] == "/console/groups/g1"
    token = csrf_of(client.get("/console/sign-in").text)
    response = client.post(
        "/console/sign-in",
        data={
            "username": ADMIN_USERNAME,
            "password": admin_password,
            "csrf_token": token,
            "next": "//evil.example/x",
        },
    )
    assert response.headers["location"] == "/console/"


def test_a_newline_after_next_sends_home_instead_of_dropping_the_connection(
    client: httpx.Client, admin_password: str
) -> None:
    # The attack: `$` also matches before a final newline, so this `next` passed the local
    # path check, went into the Location header, and uvicorn dropped the connection (500).
    for target in ("/console/x\n", "/console/groups/g1\n"):
        form = client.get("/console/sign-in", params={"next": target})
        assert form.status_code == 200
        response = client.post(
            "/console/sign-in",
            data={
                "username": ADMIN_USERNAME,
                "password": admin_password,
                "csrf_token": csrf_of(form.text),
                "next": target,
            },
        )
        assert response.status_code == 303
        assert response.headers["location"] == "/console/"
        assert client.get("/console/").status_code == 200


def test_same_answer_for_unknown_user_and_wrong_password(
    client: httpx.Client, admin_password: str
) -> None:
    unknown = sign_in(client, "nobody-here", admin_password)
    wrong = sign_in(client, ADMIN_USERNAME, admin_password + "x")
    assert unknown.status_code == wrong.status_code == 401
    assert BAD_CREDENTIALS in unknown.text and BAD_CREDENTIALS in wrong.text
    assert client.get("/console/").status_code == 303  # still signed out


def test_sign_in_without_csrf_token_is_forbidden(client: httpx.Client, admin_password: str) -> None:
    client.get("/console/sign-in")
    response = client.post(
        "/console/sign-in", data={"username": ADMIN_USERNAME, "password": admin_password}
    )
    assert response.status_code == 403


def test_bad_csrf_token_on_a_form_is_forbidden(client: httpx.Client, admin_password: str) -> None:
    sign_in(client, ADMIN_USERNAME, admin_password)
    good = csrf_of(client.get("/console/").text)
    for token in ("forged", ""):
        response = client.post(
            "/console/groups/g1/filters",
            data={
                "csrf_token": token,
                "filter_name": "f",
                "expression": 'EXCLUDE ItemID WHERE Items.GENRES IN ("Drama")',
            },
        )
        assert response.status_code == 403
    assert (
        client.post(
            "/console/delete", data={"arn": "arn:aws:personalize:us-east-1:0:filter/f"}
        ).status_code
        == 403
    )
    # The sign-in form's token (an anonymous session's) is not the signed-in session's.
    with httpx.Client(base_url=str(client.base_url)) as other:
        anonymous = csrf_of(other.get("/console/sign-in").text)
    assert anonymous != good
    response = client.post("/console/sign-out", data={"csrf_token": anonymous})
    assert response.status_code == 403
    response = client.post("/console/sign-out", data={"csrf_token": good})
    assert response.status_code == 303
    assert client.get("/console/").status_code == 303


def test_repeated_failures_lock_the_user_out(client: httpx.Client) -> None:
    for _ in range(LOCKOUT_FAILURES):
        assert sign_in(client, "mallory", "guess").status_code == 401
    locked = sign_in(client, "mallory", "guess")
    assert locked.status_code == 429
    assert "Too many failed sign-ins. Try again in 2 minutes." in locked.text


CHEAP = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def console_app(tmp_path: Path, **env: object) -> FastAPI:
    settings = Settings(
        DATABASE_URL=f"sqlite:///{tmp_path / 'e.db'}",
        ARTIFACTS_URL=f"file://{tmp_path}",
        **engine_keys_env(),
        **env,  # type: ignore[arg-type]
    )
    parent = FastAPI()
    parent.mount("/console", create_console(parent, settings))
    return parent


async def test_lockout_refuses_even_the_right_password(tmp_path: Path) -> None:
    app = console_app(
        tmp_path,
        ENVIRONMENT="test",
        ADMIN_USERNAME="root",
        ADMIN_PASSWORD_HASH=CHEAP.hash("right"),
        SECRET_KEY="s" * 40,
        LOGIN_MAX_FAILURES=2,
        LOGIN_LOCKOUT_SECONDS=600,
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        token = csrf_of((await c.get("/console/sign-in")).text)

        async def attempt(password: str) -> httpx.Response:
            return await c.post(
                "/console/sign-in",
                data={"username": "root", "password": password, "csrf_token": token},
            )

        assert (await attempt("wrong")).status_code == 401
        assert (await attempt("wrong")).status_code == 401
        locked = await attempt("right")
        assert locked.status_code == 429
        assert "Try again in 10 minutes" in locked.text


async def test_production_without_admin_settings_refuses_naming_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("ADMIN_USERNAME", "ADMIN_PASSWORD", "ADMIN_PASSWORD_HASH", "SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    app = console_app(tmp_path, ENVIRONMENT="production")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        for path in ("/console/", "/console/sign-in"):
            response = await c.get(path)
            assert response.status_code == 503
            for missing in (
                "ADMIN_USERNAME is not set",
                "ADMIN_PASSWORD or ADMIN_PASSWORD_HASH is not set",
                "SECRET_KEY is not set",
            ):
                assert missing in response.text


def test_console_disabled_is_not_mounted(tmp_path: Path) -> None:
    settings = Settings(
        DATABASE_URL=f"sqlite:///{tmp_path / 'e.db'}",
        ARTIFACTS_URL=f"file://{tmp_path}",
        CONSOLE_ENABLED=False,
        **engine_keys_env(),  # type: ignore[arg-type]
    )
    app = FastAPI()
    mount_console(app, settings)
    assert "/console" not in [getattr(r, "path", None) for r in app.routes]
    mount_console(app, settings.model_copy(update={"CONSOLE_ENABLED": True, "ENVIRONMENT": "test"}))
    assert [getattr(r, "path", None) for r in app.routes][-1] == "/console"


COOKIE = "engine_admin_session"


def test_a_cookie_saved_before_sign_out_is_refused_after_it(
    client: httpx.Client, admin_password: str
) -> None:
    sign_in(client, ADMIN_USERNAME, admin_password)
    saved = {"cookie": f"{COOKIE}={client.cookies[COOKIE]}"}
    home = client.get("/console/")
    assert home.status_code == 200
    token = csrf_of(home.text)
    assert client.post("/console/sign-out", data={"csrf_token": token}).status_code == 303
    # The replay: the cookie (and its CSRF token) copied before the sign-out.
    with httpx.Client(base_url=str(client.base_url), timeout=30) as replay:
        page = replay.get("/console/", headers=saved)
        assert page.status_code == 303 and page.headers["location"] == "/console/sign-in"
        write = replay.post(
            "/console/groups/g1/filters",
            headers=saved,
            data={
                "csrf_token": token,
                "filter_name": "f",
                "expression": 'EXCLUDE ItemID WHERE Items.GENRES IN ("Drama")',
            },
        )
        assert write.status_code == 303 and write.headers["location"] == "/console/sign-in"
        delete = replay.post(
            "/console/delete",
            headers=saved,
            data={"csrf_token": token, "arn": "arn:aws:personalize:us-east-1:0:filter/f"},
        )
        assert delete.status_code == 303 and delete.headers["location"] == "/console/sign-in"


def _locking_console(tmp_path: Path, **env: object) -> FastAPI:
    return console_app(
        tmp_path,
        ENVIRONMENT="test",
        ADMIN_USERNAME="root",
        ADMIN_PASSWORD_HASH=CHEAP.hash("right"),
        SECRET_KEY="s" * 40,
        LOGIN_MAX_FAILURES=5,
        LOGIN_LOCKOUT_SECONDS=600,
        **env,
    )


async def _attempt(c: httpx.AsyncClient, password: str, forwarded_for: str) -> httpx.Response:
    token = csrf_of((await c.get("/console/sign-in")).text)
    return await c.post(
        "/console/sign-in",
        data={"username": "root", "password": password, "csrf_token": token},
        headers={"X-Forwarded-For": forwarded_for},
    )


async def test_a_new_forwarded_for_per_try_buys_no_extra_guesses(tmp_path: Path) -> None:
    # Behind a trusted proxy hop (uvicorn's middleware, as --forwarded-allow-ips sets it up)
    # the address follows X-Forwarded-For; the username limit still ends the guessing.
    app = ProxyHeadersMiddleware(
        _locking_console(tmp_path, LOGIN_MAX_FAILURES_PER_USERNAME=20), trusted_hosts="127.0.0.1"
    )
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        statuses = [(await _attempt(c, "wrong", f"203.0.113.{n}")).status_code for n in range(20)]
        assert statuses == [401] * 20  # the console answers 429 from the next try on
        locked = await _attempt(c, "right", "198.51.100.250")
        assert locked.status_code == 429
        assert "Try again in 10 minutes" in locked.text
        assert (await c.get("/console/")).status_code == 303


async def test_the_right_password_with_a_forged_forwarded_for_stays_locked_out(
    tmp_path: Path,
) -> None:
    # From a peer that is not a trusted proxy, X-Forwarded-For is not read at all.
    app = ProxyHeadersMiddleware(_locking_console(tmp_path), trusted_hosts="127.0.0.1")
    transport = httpx.ASGITransport(app=app, client=("198.51.100.7", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        for n in range(5):
            assert (await _attempt(c, "wrong", f"10.0.0.{n}")).status_code == 401
        locked = await _attempt(c, "right", "10.9.9.9")
        assert locked.status_code == 429


async def _burst(c: httpx.AsyncClient, count: int, *, spread: bool = False) -> list[int]:
    """`count` wrong sign-ins sent at once (one CSRF token); `spread`: each from its own
    address, through the trusted proxy's X-Forwarded-For."""
    token = csrf_of((await c.get("/console/sign-in")).text)

    async def attempt(n: int) -> int:
        answer = await c.post(
            "/console/sign-in",
            data={"username": "root", "password": f"guess-{n}", "csrf_token": token},
            headers={"X-Forwarded-For": f"203.0.113.{n}"} if spread else {},
        )
        return answer.status_code

    return list(await asyncio.gather(*(attempt(n) for n in range(count))))


async def test_guesses_sent_at_once_are_checked_only_up_to_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The attack: 40 wrong passwords at once from one address. Each used to pass the
    # lockout check while the others were still in argon2, so all 40 were tried.
    checked = count_password_checks(monkeypatch)
    app = _locking_console(tmp_path)  # 5 failures per username and address
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        statuses = await _burst(c, 40)
        assert len(checked) == 5
        assert statuses.count(401) == 5 and statuses.count(429) == 35
        locked = await _attempt(c, "right", "127.0.0.1")
        assert locked.status_code == 429
        assert "Try again in 10 minutes" in locked.text
        assert (await c.get("/console/")).status_code == 303
    assert len(checked) == 5  # the right password was not checked either


async def test_guesses_sent_at_once_from_many_addresses_stop_at_the_username_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    checked = count_password_checks(monkeypatch)
    app = ProxyHeadersMiddleware(
        _locking_console(tmp_path, LOGIN_MAX_FAILURES_PER_USERNAME=20), trusted_hosts="127.0.0.1"
    )
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        statuses = await _burst(c, 40, spread=True)
        assert len(checked) == 20
        assert statuses.count(401) == 20 and statuses.count(429) == 20
        locked = await _attempt(c, "right", "198.51.100.250")
        assert locked.status_code == 429
    assert len(checked) == 20
