"""/healthz (with the release), /readyz (200, then 503 once the database is gone), /metrics."""

from __future__ import annotations

import shutil
import tomllib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import httpx
from fastapi import APIRouter, FastAPI

from services.common import BaseServiceSettings, create_app
from services.common.db import SessionDep, create_engine, create_sessionmaker, database_ready
from services.common.health import package_version
from tests.utils.databases import postgres_admin_url
from tests.utils.servers import ROOT

router = APIRouter()


@router.get("/items/{item_id}")
async def item(item_id: int, session: SessionDep) -> dict[str, int]:
    return {"id": item_id}


def make_app(database_url: str) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.engine = create_engine(database_url)
        app.state.sessionmaker = create_sessionmaker(app.state.engine)
        yield
        await app.state.engine.dispose()

    return create_app(
        service="health",
        settings=BaseServiceSettings(ENVIRONMENT="test"),
        routers=[router],
        lifespan=lifespan,
        readiness={"database": database_ready},
    )


async def test_ready_then_unavailable_when_database_is_gone(
    database_url: str, tmp_path: Path
) -> None:
    if database_url.startswith("sqlite"):
        # A database file in a folder that is then removed: SQLite can no longer open it.
        folder = tmp_path / "db"
        folder.mkdir()
        database_url = f"sqlite+aiosqlite:///{folder / 'app.db'}"
    app = make_app(database_url)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://h") as client:
            alive = (await client.get("/healthz")).json()
            assert alive == {"status": "ok", "version": package_version()}
            ready = await client.get("/readyz")
            assert (ready.status_code, ready.json()) == (
                200,
                {"status": "ok", "checks": {"database": "ok"}},
            )

            await app.state.engine.dispose()
            if database_url.startswith("sqlite"):
                shutil.rmtree(folder)
            else:
                admin = await asyncpg.connect(postgres_admin_url())
                name = database_url.rsplit("/", 1)[1]
                await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
                await admin.close()

            gone = await client.get("/readyz")
            assert gone.status_code == 503
            body = gone.json()
            assert body["status"] == "unavailable"
            assert body["checks"]["database"] != "ok" and body["checks"]["database"]
            # Liveness does not depend on the database.
            assert (await client.get("/healthz")).status_code == 200


async def test_metrics_count_requests(tmp_path: Path) -> None:
    app = make_app(f"sqlite+aiosqlite:///{tmp_path / 'm.db'}")
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://h") as client:
            for item_id in (1, 2, 3):
                assert (await client.get(f"/items/{item_id}")).status_code == 200
            assert (await client.get("/items/x")).status_code == 422
            await client.get("/healthz")
            metrics = await client.get("/metrics")
    assert metrics.headers["content-type"].startswith("text/plain")
    text = metrics.text
    # Labelled by route template, not raw path, so ids do not explode the label set.
    assert 'http_requests_total{method="GET",route="/items/{item_id}",status="200"} 3.0' in text
    assert 'http_requests_total{method="GET",route="/items/{item_id}",status="422"} 1.0' in text
    assert 'http_requests_total{method="GET",route="/healthz",status="200"} 1.0' in text
    assert 'http_request_duration_seconds_count{method="GET",route="/items/{item_id}"} 4.0' in text


async def test_metrics_through_a_reverse_proxy_are_a_404(tmp_path: Path) -> None:
    """Escaped paths can slip past a load balancer's path rule (`/%6detrics`); every proxy
    adds X-Forwarded-For, so the service refuses such requests itself."""
    app = make_app(f"sqlite+aiosqlite:///{tmp_path / 'm.db'}")
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://h") as client:
            proxied = [
                await client.get(path, headers={"X-Forwarded-For": "203.0.113.9"})
                for path in ("/metrics", "/%6detrics")
            ]
            direct = [await client.get(path) for path in ("/metrics", "/%6detrics")]
    for answer in proxied:
        assert answer.status_code == 404
        assert "http_requests_total" not in answer.text
    for answer in direct:  # the escaped path does reach the route
        assert answer.status_code == 200 and "http_requests_total" in answer.text


def test_the_version_is_pyprojects() -> None:
    """The installed metadata, which /healthz and `videorecs --version` report, is the
    version pyproject.toml declares (a stale install would differ: `make setup`)."""
    with (ROOT / "pyproject.toml").open("rb") as file:
        declared = tomllib.load(file)["project"]["version"]
    assert package_version() == declared
