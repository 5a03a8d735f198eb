"""One JSON error shape: ServiceError subclasses, 422 messages, 404/405, 500 without a trace."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import httpx
import pytest
from fastapi import APIRouter, Query

from services.common import (
    BadGateway,
    BadRequest,
    BaseServiceSettings,
    Conflict,
    Forbidden,
    NotFound,
    ServiceError,
    Unauthorized,
    UpstreamUnavailable,
    create_app,
)
from services.common.errors import describe_validation_errors

router = APIRouter()
ERRORS: dict[str, ServiceError] = {
    "bad": BadRequest("limit must be at most 10"),
    "unauthorized": Unauthorized("sign in first"),
    "forbidden": Forbidden("admins only"),
    "missing": NotFound("user 7 not found"),
    "conflict": Conflict("name taken"),
    "gateway": BadGateway("engine answered nonsense"),
    "down": UpstreamUnavailable("engine unreachable"),
    "teapot": ServiceError("custom", status_code=418),
}


@router.get("/raise/{name}")
async def raise_error(name: str) -> None:
    raise ERRORS[name]


@router.get("/crash")
async def crash() -> None:
    raise RuntimeError("password=hunter2 in a stack frame")


@router.get("/items")
async def items(limit: Annotated[int, Query(ge=1, le=10)], name: str = "x") -> dict[str, int]:
    return {"limit": limit}


def make_client() -> httpx.AsyncClient:
    # create_app points the JSON log handler at sys.stderr as it is now (capsys's in a test).
    app = create_app(
        service="test", settings=BaseServiceSettings(ENVIRONMENT="test"), routers=[router]
    )
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with make_client() as http:
        yield http


@pytest.mark.parametrize(
    ("name", "status"),
    [
        ("bad", 422),
        ("unauthorized", 401),
        ("forbidden", 403),
        ("missing", 404),
        ("conflict", 409),
        ("gateway", 502),
        ("down", 503),
        ("teapot", 418),
    ],
)
async def test_service_errors(client: httpx.AsyncClient, name: str, status: int) -> None:
    response = await client.get(f"/raise/{name}")
    assert (response.status_code, response.json()) == (status, {"detail": ERRORS[name].message})


async def test_validation_error_message(client: httpx.AsyncClient) -> None:
    response = await client.get("/items", params={"limit": 50})
    assert response.status_code == 422
    assert response.json() == {"detail": "limit: Input should be less than or equal to 10"}
    missing = await client.get("/items")
    assert missing.json() == {"detail": "limit: Field required"}


async def test_unknown_route_and_method(client: httpx.AsyncClient) -> None:
    response = await client.get("/nowhere")
    assert (response.status_code, response.json()) == (404, {"detail": "Not Found"})
    response = await client.post("/items")
    assert (response.status_code, response.json()) == (405, {"detail": "Method Not Allowed"})
    assert response.headers["allow"] == "GET"


async def test_unexpected_error_is_a_bare_500(capsys: pytest.CaptureFixture[str]) -> None:
    async with make_client() as client:
        response = await client.get("/crash", headers={"x-request-id": "crash-1"})
    assert (response.status_code, response.json()) == (500, {"detail": "internal error"})
    assert "hunter2" not in response.text and "Traceback" not in response.text
    # The trace goes to the log, with the request id, and the answer carries that id.
    assert response.headers["x-request-id"] == "crash-1"
    log = capsys.readouterr().err
    assert "hunter2" in log and '"request_id": "crash-1"' in log


def test_describe_validation_errors() -> None:
    errors = [
        {"loc": ("query", "limit"), "msg": "Input should be a valid integer"},
        {"loc": ("body", "item", "name"), "msg": "Field required"},
        {"loc": (), "msg": "bad"},
    ]
    assert describe_validation_errors(errors) == (
        "limit: Input should be a valid integer; item.name: Field required; request: bad"
    )
    assert describe_validation_errors([]) == "invalid request"
