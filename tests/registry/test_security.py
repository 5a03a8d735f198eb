"""Password and token checks the registry relies on (services.common.admin_auth, deps),
and the attacks on the admin sign-in and the model names, replayed: forged
X-Forwarded-For, a cookie kept past sign-out, look-alike and hidden-character names.

Argon2 only, and an unknown user costs as much as a wrong password.
"""

from __future__ import annotations

import statistics
import time
from datetime import timedelta

import httpx
import pytest
from argon2 import PasswordHasher
from sqlalchemy import update

from services.common.admin_auth import AdminCredentials, hash_password
from services.common.db import create_engine, create_sessionmaker
from services.common.time import utc_now
from services.registry import crud
from services.registry.deps import token_matches
from services.registry.models import AdminSessionRow
from tests.registry.support import ADMIN, bearer, build_settings, csrf_of, running, sign_in

# Cheaper than production (16 MiB, 2 passes) but still clearly measurable.
MEASURABLE = PasswordHasher(time_cost=2, memory_cost=16384, parallelism=1)
CHEAP = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def _median_seconds(check: AdminCredentials, username: str, password: str) -> float:
    runs = []
    for _ in range(3):
        started = time.perf_counter()
        assert check.verify(username, password) is False
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


def test_unknown_user_costs_one_argon2_verification() -> None:
    credentials = AdminCredentials.from_hash("curator", MEASURABLE.hash("the-real-password"))
    assert credentials.verify("curator", "the-real-password") is True
    wrong_password = _median_seconds(credentials, "curator", "guess")
    unknown_user = _median_seconds(credentials, "nobody", "guess")
    assert wrong_password > 0.005
    # Within a factor of two of each other; without the dummy hash it would be ~1000x.
    assert 0.5 < unknown_user / wrong_password < 2.0


def test_hash_is_salted_argon2id() -> None:
    first, second = hash_password("same"), hash_password("same")
    assert first.startswith("$argon2id$") and second.startswith("$argon2id$")
    assert first != second


def test_password_and_username_must_both_match() -> None:
    credentials = AdminCredentials.from_hash("curator", CHEAP.hash("pw-1234567890"))
    assert credentials.verify("curator", "pw-1234567890")
    assert not credentials.verify("Curator", "pw-1234567890")
    assert not credentials.verify("curator", "pw-123456789")
    assert not credentials.verify("", "")


def test_token_matches() -> None:
    assert token_matches("abc", "abc")
    assert not token_matches("abd", "abc")
    assert not token_matches("", "")
    assert not token_matches("abc", None)


# ---------------------------------------------------------------- attacks, replayed over HTTP

TRUSTED_PROXY = "127.0.0.1"


async def test_a_new_forwarded_for_per_try_buys_no_extra_guesses(sqlite_url: str) -> None:
    # Even through a trusted proxy hop (the embedded run's loopback), where uvicorn takes
    # the address from X-Forwarded-For, a fresh address per try does not reset the count.
    settings = build_settings(sqlite_url, LOGIN_MAX_FAILURES=5, LOGIN_MAX_FAILURES_PER_USERNAME=20)
    async with running(settings, forwarded_allow_ips=TRUSTED_PROXY) as client:
        statuses = []
        for n in range(20):
            client.headers["X-Forwarded-For"] = f"203.0.113.{n}"
            statuses.append((await sign_in(client, ADMIN, f"guess-{n}")).status_code)
        assert statuses == [401] * 19 + [429]
        # The right password from yet another address is refused while the lock lasts.
        client.headers["X-Forwarded-For"] = "198.51.100.250"
        locked = await sign_in(client)
        assert locked.status_code == 429
        assert "Too many failed sign-ins for this username. Try again in 15 minutes." in locked.text
        assert (await client.get("/admin/")).status_code == 303  # not signed in


async def test_the_right_password_with_a_forged_forwarded_for_stays_locked_out(
    sqlite_url: str,
) -> None:
    # A client that is not a trusted proxy: its X-Forwarded-For is ignored altogether.
    settings = build_settings(sqlite_url, LOGIN_MAX_FAILURES=5)
    async with running(
        settings, client_ip="198.51.100.7", forwarded_allow_ips=TRUSTED_PROXY
    ) as client:
        statuses = []
        for n in range(5):
            client.headers["X-Forwarded-For"] = f"10.0.0.{n}"
            statuses.append((await sign_in(client, ADMIN, "guess")).status_code)
        assert statuses == [401, 401, 401, 401, 429]
        client.headers["X-Forwarded-For"] = "10.9.9.9"
        locked = await sign_in(client)
        assert locked.status_code == 429
        assert "for this username from your address" in locked.text


async def test_with_no_trusted_proxy_the_header_is_ignored_even_from_loopback(
    sqlite_url: str,
) -> None:
    # The images' default (FORWARDED_ALLOW_IPS=""): every address is the peer's own.
    settings = build_settings(sqlite_url, LOGIN_MAX_FAILURES=5)
    async with running(settings, forwarded_allow_ips="") as client:
        statuses = []
        for n in range(5):
            client.headers["X-Forwarded-For"] = f"203.0.113.{n}"
            statuses.append((await sign_in(client, ADMIN, "guess")).status_code)
        assert statuses == [401, 401, 401, 401, 429]


def _cookie_header(client: httpx.AsyncClient) -> dict[str, str]:
    return {"cookie": f"{COOKIE}={client.cookies[COOKIE]}"}


COOKIE = "registry_admin_session"
CAMPAIGN = "arn:aws:personalize:us-east-1:123456789012:campaign/lab-hrnn"


async def test_a_cookie_saved_before_sign_out_is_refused_after_it(database_url: str) -> None:
    async with running(build_settings(database_url)) as client:
        assert (await sign_in(client)).status_code == 303
        saved = _cookie_header(client)
        token = csrf_of((await client.get("/admin/models/new")).text)
        signed_out = await client.post("/admin/logout", data={"csrf_token": token})
        assert signed_out.status_code == 303
        client.cookies.clear()
        # The replay: the same cookie (and its CSRF token), sent after the sign-out.
        page = await client.get("/admin/", headers=saved)
        assert page.status_code == 303 and page.headers["location"] == "/admin/login"
        form = await client.post(
            "/admin/models/new",
            headers=saved,
            data={"csrf_token": token, "name": "x", "campaign_arn": CAMPAIGN, "type": "ranking"},
        )
        assert form.status_code == 303 and form.headers["location"] == "/admin/login"
        delete = await client.post(
            "/admin/models/1/delete", headers=saved, data={"csrf_token": token}
        )
        assert delete.status_code == 303 and delete.headers["location"] == "/admin/login"
        api = await client.post(
            "/models",
            headers={**saved, "X-CSRF-Token": token},
            json={"name": "x", "campaign_arn": CAMPAIGN, "type": "ranking"},
        )
        assert api.status_code == 401
        assert (
            await client.delete("/models/1", headers={**saved, "X-CSRF-Token": token})
        ).status_code == 401
        # The sign-in page treats it as no session at all: a fresh anonymous one.
        login = await client.get("/admin/login", headers=saved)
        assert login.status_code == 200 and COOKIE in login.headers["set-cookie"]


async def test_sign_out_holds_on_every_replica_and_after_a_restart(sqlite_url: str) -> None:
    settings = build_settings(sqlite_url)
    async with running(settings) as first:
        await sign_in(first)
        saved = _cookie_header(first)
        assert (await first.get("/admin/", headers=saved)).status_code == 200
    # A restart (or another replica on the same database): the session is still live...
    async with running(build_settings(sqlite_url)) as second:
        page = await second.get("/admin/", headers=saved)
        assert page.status_code == 200
        second.cookies.set(COOKIE, saved["cookie"].split("=", 1)[1])
        await second.post("/admin/logout", data={"csrf_token": csrf_of(page.text)})
    # ...and its sign-out reaches every other instance.
    async with running(build_settings(sqlite_url)) as third:
        assert (await third.get("/admin/", headers=saved)).status_code == 303


async def test_sessions_expire_on_the_server(database_url: str) -> None:
    async with running(build_settings(database_url)) as client:
        await sign_in(client)
        assert (await client.get("/admin/")).status_code == 200
        engine = create_engine(database_url)
        async with engine.begin() as conn:
            await conn.execute(
                update(AdminSessionRow).values(expires_at=utc_now() - timedelta(seconds=1))
            )
        await engine.dispose()
        assert (await client.get("/admin/")).status_code == 303


async def _insert_model(database_url: str, name: str) -> int:
    """A model written straight to the database (no campaign check needed)."""
    engine = create_engine(database_url)
    async with create_sessionmaker(engine)() as db, db.begin():
        model = await crud.create_model(
            session=db, values={"name": name, "campaign_arn": CAMPAIGN, "type": "recommendations"}
        )
    await engine.dispose()
    assert model.id is not None
    return model.id


@pytest.mark.parametrize("look_alike", ["ｆｏｏ", "FOO", "foo", "Ｆoo", " FOO "])
async def test_look_alike_names_are_a_conflict(sqlite_url: str, look_alike: str) -> None:
    async with running(build_settings(sqlite_url)) as client:
        model_id = await _insert_model(sqlite_url, "Foo")
        other_id = await _insert_model(sqlite_url, "Bar")
        body = {"name": look_alike, "campaign_arn": CAMPAIGN, "type": "recommendations"}
        created = await client.post("/models", json=body, headers=bearer())
        renamed = await client.patch(
            f"/models/{other_id}", json={"name": look_alike}, headers=bearer()
        )
        assert created.status_code == renamed.status_code == 409
        assert created.json() == {
            "detail": f"a model named 'Foo' already exists, and '{look_alike.strip()}' differs "
            "from it only in letter case or character width; choose another name"
        }
        # Its own model may take the look-alike spelling (it clashes with nothing else).
        own = await client.patch(f"/models/{model_id}", json={"name": look_alike}, headers=bearer())
        assert own.status_code == 200 and own.json()["name"] == look_alike.strip()


async def test_look_alike_names_are_refused_on_the_admin_form(sqlite_url: str) -> None:
    async with running(build_settings(sqlite_url)) as client:
        await _insert_model(sqlite_url, "Foo")
        await sign_in(client)
        token = csrf_of((await client.get("/admin/models/new")).text)
        answer = await client.post(
            "/admin/models/new",
            data={
                "csrf_token": token,
                "name": "ＦＯＯ",
                "campaign_arn": CAMPAIGN,
                "type": "recommendations",
                "sort_order": "0",
            },
        )
        assert answer.status_code == 409
        assert (
            'id="name-error">a model named &#39;Foo&#39; already exists, and &#39;ＦＯＯ&#39; '
            "differs from it only in letter case or character width" in answer.text
        )


HIDDEN = [
    ("\u202e", "bidirectional control characters (found U+202E)"),
    ("\u202a", "bidirectional control characters (found U+202A)"),
    ("\u2066", "bidirectional control characters (found U+2066)"),
    ("\u2069", "bidirectional control characters (found U+2069)"),
    ("\u200e", "bidirectional control characters (found U+200E)"),
    ("\u200f", "bidirectional control characters (found U+200F)"),
    ("\u061c", "bidirectional control characters (found U+061C)"),
    ("\u200b", "zero-width characters (found U+200B)"),
    ("\u200c", "zero-width characters (found U+200C)"),
    ("\u200d", "zero-width characters (found U+200D)"),
    ("\u2060", "zero-width characters (found U+2060)"),
    ("\ufeff", "zero-width characters (found U+FEFF)"),
    ("\x1b", "control characters (found U+001B)"),
    ("\u00ad", "invisible format characters (found U+00AD)"),
    ("\u2028", "invisible format characters (found U+2028)"),
]


@pytest.mark.parametrize(("char", "problem"), HIDDEN, ids=[f"U+{ord(c):04X}" for c, _ in HIDDEN])
async def test_names_with_hidden_characters_are_refused(
    sqlite_url: str, char: str, problem: str
) -> None:
    async with running(build_settings(sqlite_url)) as client:
        model_id = await _insert_model(sqlite_url, "Plain")
        name = f"Top{char}Picks"
        body = {"name": name, "campaign_arn": CAMPAIGN, "type": "recommendations"}
        created = await client.post("/models", json=body, headers=bearer())
        renamed = await client.patch(f"/models/{model_id}", json={"name": name}, headers=bearer())
        for answer in (created, renamed):
            assert answer.status_code == 422
            assert f"name: Value error, must not contain {problem}" in answer.json()["detail"]
        await sign_in(client)
        token = csrf_of((await client.get("/admin/models/new")).text)
        form = await client.post(
            "/admin/models/new",
            data={"csrf_token": token, "name": name, "campaign_arn": CAMPAIGN, "type": "ranking"},
        )
        assert form.status_code == 422
        assert f'id="name-error">must not contain {problem}</p>' in form.text
        assert [m["name"] for m in (await client.get("/models")).json()["data"]] == ["Plain"]
