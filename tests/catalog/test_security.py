"""Attacks on the catalog's input, replayed: Unicode digits and over-long numbers in ids,
oversized requests, and a catalog asked before its tables exist or while its database is
down. Each must be a 4xx or 503 that says what is wrong, never a 500."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import jsonschema
import pytest

from services.catalog.config import Settings
from services.catalog.loader import load_movielens
from services.catalog.main import create_catalog_app
from services.common.db import NOT_MIGRATED, UNAVAILABLE
from tests.catalog.conftest import write_small
from tests.utils.databases import BACKENDS, new_database_url
from tests.utils.servers import free_port

MIB = 1024 * 1024


@pytest.fixture(scope="module", params=BACKENDS)
async def client(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[httpx.AsyncClient]:
    """The catalog on the three-user data set, per backend."""
    folder = tmp_path_factory.mktemp("catalog-security")
    url = await new_database_url(str(request.param), folder)
    await load_movielens(database_url=url, data_dir=write_small(folder / "ml"), posters=None)
    async with _serving(url) as http:
        yield http


@asynccontextmanager
async def _serving(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    app = create_catalog_app(Settings(DATABASE_URL=database_url, ENVIRONMENT="test"))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://catalog") as http:
            yield http


UNICODE_DIGITS = ["²", "①", "١", "٣", "１"]  # superscript, circled, Arabic-Indic, fullwidth
HUGE = ["9" * 5000, str(2**63), str(2**31), "9" * 11]


@pytest.mark.parametrize("ids", [*UNICODE_DIGITS, "1,²", "①,2"])
async def test_unicode_digits_in_ids_are_422(client: httpx.AsyncClient, ids: str) -> None:
    response = await client.get("/movies", params={"ids": ids})
    assert response.status_code == 422, response.text
    assert "is not a movie id (a positive integer)" in response.json()["detail"]


@pytest.mark.parametrize("ids", HUGE)
async def test_ids_beyond_the_database_range_are_422(client: httpx.AsyncClient, ids: str) -> None:
    response = await client.get("/movies", params={"ids": ids})
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert "is out of range (1..2147483647)" in detail
    assert len(detail) < 200  # the message names the id without echoing 5,000 digits


@pytest.mark.parametrize("value", [*UNICODE_DIGITS, *HUGE])
@pytest.mark.parametrize(
    "path", ["/movies/{}", "/users/{}", "/users/{}/reviews", "/users?limit={}", "/users?offset={}"]
)
async def test_other_integer_parameters_refuse_them_too(
    client: httpx.AsyncClient, path: str, value: str
) -> None:
    response = await client.get(path.format(value))
    assert response.status_code == 422, response.text
    assert response.json()["detail"].split(":")[0] in {"movie_id", "user_id", "limit", "offset"}


async def test_plain_ids_still_work(client: httpx.AsyncClient) -> None:
    response = await client.get("/movies", params={"ids": "3,1,1,99"})
    assert response.status_code == 200
    body = response.json()
    assert [m["id"] for m in body["data"]] == [3, 1]
    assert body["missing"] == [99]


async def test_bodies_over_a_mebibyte_are_413(client: httpx.AsyncClient) -> None:
    response = await client.post("/movies", content=b"x" * (MIB + 1))
    assert response.status_code == 413
    assert response.json() == {"detail": f"request body too large: at most {MIB} bytes allowed"}


async def test_huge_headers_are_431(client: httpx.AsyncClient) -> None:
    response = await client.get("/stats", headers={"X-Big": "a" * 40_000})
    assert response.status_code == 431


async def test_405_names_the_allowed_methods(client: httpx.AsyncClient) -> None:
    response = await client.delete("/movies/1")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET"
    assert response.json() == {"detail": "Method Not Allowed"}


async def test_the_422_body_is_the_one_the_openapi_declares(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    declared = schema["paths"]["/movies"]["get"]["responses"]["422"]["content"]
    assert declared["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorBody"}
    response = await client.get("/movies", params={"ids": "²"})
    jsonschema.validate(response.json(), schema["components"]["schemas"]["ErrorBody"])
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    # /readyz declares both of its bodies, /metrics its text.
    ready = schema["paths"]["/readyz"]["get"]["responses"]
    assert set(ready) >= {"200", "503"}
    assert "text/plain" in schema["paths"]["/metrics"]["get"]["responses"]["200"]["content"]


# --- a database that is not ready --------------------------------------------------------


@pytest.fixture(params=BACKENDS)
async def unmigrated(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    """The catalog started before its migrations ran: an empty database."""
    async with _serving(await new_database_url(str(request.param), tmp_path)) as http:
        yield http


async def test_before_the_tables_exist_it_is_503_not_500(unmigrated: httpx.AsyncClient) -> None:
    ready = await unmigrated.get("/readyz")
    assert ready.status_code == 503
    assert ready.json() == {"status": "unavailable", "checks": {"database": NOT_MIGRATED}}
    for path in ("/stats", "/movies/1", "/movies?ids=1,2", "/users/random", "/movies/popular"):
        response = await unmigrated.get(path)
        assert response.status_code == 503, (path, response.text)
        assert response.json() == {"detail": NOT_MIGRATED}
        assert response.headers["retry-after"] == "5"


@pytest.fixture(params=["postgresql", "sqlite"])
def unreachable_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "postgresql":
        yield f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/catalog"
    else:
        yield f"sqlite+aiosqlite:///{tmp_path / 'no-such-folder' / 'catalog.db'}"


async def test_a_database_that_is_down_is_503(unreachable_url: str) -> None:
    async with _serving(unreachable_url) as http:
        ready = await http.get("/readyz")
        response = await http.get("/stats")
    assert ready.status_code == 503
    assert ready.json()["checks"]["database"] == UNAVAILABLE
    assert response.status_code == 503
    assert response.json() == {"detail": UNAVAILABLE}
