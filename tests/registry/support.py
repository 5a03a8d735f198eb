"""Helpers for registry tests: settings, the app driven in-process, signing in."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from services.registry.config import Settings
from services.registry.main import create_registry_app
from tests.utils.credentials import engine_keys_env
from tests.utils.servers import free_port

ADMIN = "curator"
PASSWORD = "s3cret-Passw0rd"
# argon2id of PASSWORD with deliberately cheap parameters, so tests stay fast; the
# service takes any argon2 hash (production ones come from `hash_password`).
PASSWORD_HASH = (
    "$argon2id$v=19$m=1024,t=1,p=1$L9A6aii1GzTJNnPab1s2aA"
    "$yTV6geszRrtxeobtIP5ozXmOctDuITeyxlGH3x7RTGE"
)
API_TOKEN = "test-api-token-0123456789abcdef"
SECRET_KEY = "test-secret-key-0123456789abcdef"
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')

MakeSettings = Callable[..., Settings]


def closed_endpoint() -> str:
    """A loopback URL nothing listens on: Personalize 'down'."""
    return f"http://127.0.0.1:{free_port()}"


def build_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "ENVIRONMENT": "test",
        "LOG_LEVEL": "WARNING",
        "DATABASE_URL": database_url,
        "ADMIN_USERNAME": ADMIN,
        "ADMIN_PASSWORD_HASH": PASSWORD_HASH,
        "SECRET_KEY": SECRET_KEY,
        "API_TOKEN": API_TOKEN,
        "PERSONALIZE_ENDPOINT_URL": closed_endpoint(),
        **engine_keys_env(),
        # Fail fast when nothing listens; one attempt, so "down" answers quickly.
        "PERSONALIZE_CONNECT_TIMEOUT": 0.5,
        "PERSONALIZE_READ_TIMEOUT": 10.0,
        "PERSONALIZE_MAX_ATTEMPTS": 1,
    }
    values.update(overrides)
    return Settings(**values)


@asynccontextmanager
async def running(
    settings: Settings,
    *,
    root_path: str = "",
    client_ip: str = "127.0.0.1",
    forwarded_allow_ips: str | None = None,
) -> AsyncIterator[httpx.AsyncClient]:
    """The registry app with its lifespan, behind an httpx client (no sockets).

    `forwarded_allow_ips` puts uvicorn's own proxy-headers middleware in front, as
    `uvicorn --proxy-headers --forwarded-allow-ips ...` does (None: no middleware).
    """
    app = create_registry_app(settings)
    served: Any = app
    if forwarded_allow_ips is not None:
        served = ProxyHeadersMiddleware(app, trusted_hosts=forwarded_allow_ips)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=served, root_path=root_path, client=(client_ip, 40000))
        async with httpx.AsyncClient(
            transport=transport, base_url="https://registry.test" + root_path
        ) as client:
            yield client


def csrf_of(html: str) -> str:
    match = CSRF_FIELD.search(html)
    assert match, "page has no CSRF field"
    return match.group(1)


async def sign_in(
    client: httpx.AsyncClient, username: str = ADMIN, password: str = PASSWORD
) -> httpx.Response:
    page = await client.get("/admin/login")
    assert page.status_code == 200
    return await client.post(
        "/admin/login",
        data={"csrf_token": csrf_of(page.text), "username": username, "password": password},
    )


def bearer() -> dict[str, str]:
    return {"Authorization": f"Bearer {API_TOKEN}"}
