"""Frontend fixtures: a real catalog on ml-100k for the proxy tests, Chromium for the UI."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright

from services.catalog.loader import load_movielens
from tests.utils.credentials import engine_keys_env
from tests.utils.servers import RunningServer, free_port, run_server
from tests.utils.stack import Stack


@pytest.fixture(scope="session")
def catalog_server(
    tmp_path_factory: pytest.TempPathFactory, movielens_dir: Path, posters_file: Path
) -> Iterator[RunningServer]:
    """The catalog service on ml-100k (SQLite), as a real uvicorn process."""
    folder = tmp_path_factory.mktemp("frontend-catalog")
    url = f"sqlite+aiosqlite:///{folder / 'catalog.db'}"
    asyncio.run(load_movielens(database_url=url, data_dir=movielens_dir, posters=posters_file))
    env = {"DATABASE_URL": url, "ENVIRONMENT": "test"}
    with run_server("services.catalog.main:app", env=env, log_dir=folder) as server:
        yield server


ADMIN = {"ADMIN_USERNAME": "curator", "ADMIN_PASSWORD": "a-long-test-password"}
API_TOKEN = "a-test-api-token-of-some-length"


@pytest.fixture(scope="session")
def registry_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """The registry (empty, SQLite) served under /api/registry, as behind the proxy.

    Its admin pages sign in without the engine, which is all the proxy tests need from it.
    """
    folder = tmp_path_factory.mktemp("frontend-registry")
    env = {
        "DATABASE_URL": f"sqlite+aiosqlite:///{folder / 'registry.db'}",
        "ENVIRONMENT": "test",
        "ROOT_PATH": "/api/registry",
        "PERSONALIZE_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}",
        **engine_keys_env(),
        "SECRET_KEY": "a-test-secret-key-of-some-length",
        "API_TOKEN": API_TOKEN,
        **ADMIN,
    }
    with run_server("services.registry.main:app", env=env, log_dir=folder) as server:
        yield server


@pytest.fixture(scope="session")
def proxy_frontend(
    tmp_path_factory: pytest.TempPathFactory,
    catalog_server: RunningServer,
    registry_server: RunningServer,
) -> Iterator[RunningServer]:
    """The frontend proxying a live catalog and registry, and a recommender that is down."""
    env = {
        "CATALOG_URL": catalog_server.url,
        "REGISTRY_URL": registry_server.url,
        "RECOMMENDER_URL": f"http://127.0.0.1:{free_port()}",
        "ENVIRONMENT": "test",
    }
    log_dir = tmp_path_factory.mktemp("frontend-proxy")
    with run_server("services.frontend.main:app", env=env, log_dir=log_dir) as server:
        yield server


# Chromium from the distribution (Playwright cannot download its own here), with the
# flags of machine-notes.md section 7. The resolver rule makes every host but loopback
# fail at once: the tests run offline, and posters must fall back to title cards.
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
]


@pytest.fixture(scope="session")
def stack(lab_stack: Stack) -> Stack:
    """The shared trained stack; it runs this frontend too (proxying the three APIs)."""
    assert lab_stack.frontend_url, "the stack did not start the frontend"
    return lab_stack


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    """One headless Chromium for the whole session."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        await browser.close()


@pytest.fixture
async def page(browser: Browser, stack: Stack) -> AsyncIterator[Page]:
    """A fresh browser context on the stack's frontend; uncaught script errors fail the test."""
    context = await browser.new_context(
        base_url=stack.frontend_url, viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(20_000)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    await context.close()
    assert errors == [], f"script errors on the page: {errors}"


@pytest.fixture(scope="session")
def screenshots(artifacts_dir: Path) -> Path:
    path = artifacts_dir / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
async def api(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    """A plain HTTP client for reading the APIs beside the browser."""
    async with httpx.AsyncClient(timeout=30) as client:
        yield client
