"""`/models` input and auth rules that hold before any campaign is looked up."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.registry.support import bearer, build_settings, csrf_of, running, sign_in

CAMPAIGN = "arn:aws:personalize:us-east-1:123456789012:campaign/lab-hrnn"
VALID = {"name": "Personal", "campaign_arn": CAMPAIGN, "type": "recommendations", "sort_order": 1}


@pytest.fixture(scope="module")
async def shared(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[httpx.AsyncClient]:
    """One app for the checks that store nothing (input refused before any write)."""
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('registry') / 'shared.db'}"
    async with running(build_settings(url)) as client:
        yield client


@pytest.mark.parametrize(
    ("change", "detail"),
    [
        pytest.param(
            {"name": "x" * 65},
            "name: Value error, must be at most 64 characters (got 65)",
            id="long-name",
        ),
        pytest.param({"name": "   "}, "name: Value error, must not be blank", id="blank-name"),
        pytest.param(
            {"campaign_arn": "campaign/lab-hrnn"},
            "campaign_arn: Value error, is not an Amazon Personalize ARN",
            id="malformed-arn",
        ),
        pytest.param(
            {"campaign_arn": "arn:aws:personalize:us-east-1:123456789012:solution/lab-hrnn"},
            "must be a campaign ARN (arn:aws:personalize:<region>:<account>:campaign/<name>), "
            "not a 'solution' ARN",
            id="solution-arn",
        ),
        pytest.param(
            {"campaign_arn": "arn:aws:s3:::bucket/key"},
            "is not an Amazon Personalize ARN",
            id="s3-arn",
        ),
        pytest.param(
            {"campaign_arn": CAMPAIGN + "x" * 250},
            "campaign_arn: Value error, must be at most 256 characters",
            id="long-arn",
        ),
        pytest.param(
            {"type": "sims"},
            "type: Input should be 'recommendations', 'ranking' or 'similar-items'",
            id="unknown-type",
        ),
        pytest.param(
            {"sort_order": "3"}, "sort_order: Input should be a valid integer", id="string-order"
        ),
        pytest.param(
            {"sort_order": 1.5}, "sort_order: Input should be a valid integer", id="float-order"
        ),
        pytest.param(
            {"sort_order": True}, "sort_order: Input should be a valid integer", id="bool-order"
        ),
        pytest.param(
            {"sort_order": 2**40},
            "sort_order: Input should be less than or equal to 1000000",
            id="huge-order",
        ),
        pytest.param({"name": None}, "name: Input should be a valid string", id="null-name"),
        pytest.param(
            {"name": "bad\x00name"},
            "name: Value error, must not contain control characters",
            id="control-char-name",
        ),
        pytest.param(
            {"campaign_arn": "arn:aws:personalize:us-east-1:12\x0034:campaign/x"},
            "must be a campaign ARN",
            id="control-char-arn",
        ),
    ],
)
async def test_create_refuses_bad_input(
    shared: httpx.AsyncClient, change: dict[str, object], detail: str
) -> None:
    answer = await shared.post("/models", json={**VALID, **change}, headers=bearer())
    assert answer.status_code == 422
    assert detail in answer.json()["detail"]


async def test_create_names_missing_fields(shared: httpx.AsyncClient) -> None:
    answer = await shared.post("/models", json={}, headers=bearer())
    assert answer.status_code == 422
    assert answer.json()["detail"] == (
        "name: Field required; campaign_arn: Field required; type: Field required"
    )


async def test_update_refuses_null_and_bad_values(shared: httpx.AsyncClient) -> None:
    null = await shared.patch("/models/1", json={"name": None}, headers=bearer())
    bad = await shared.patch("/models/1", json={"type": "hrnn"}, headers=bearer())
    missing = await shared.patch("/models/1", json={"sort_order": 3}, headers=bearer())
    assert null.status_code == 422
    assert "name: Value error, must not be null" in null.json()["detail"]
    assert bad.status_code == 422
    assert missing.status_code == 404
    assert missing.json() == {"detail": "model 1 not found"}


async def test_reads_are_public_and_404_clearly(shared: httpx.AsyncClient) -> None:
    listed = await shared.get("/models")
    typed = await shared.get("/models", params={"type": "ranking"})
    bad_type = await shared.get("/models", params={"type": "hrnn"})
    missing = await shared.get("/models/42")
    not_int = await shared.get("/models/abc")
    assert listed.json() == typed.json() == {"data": [], "count": 0}
    assert bad_type.status_code == 422
    assert missing.status_code == 404
    assert missing.json() == {"detail": "model 42 not found"}
    assert not_int.status_code == 422


async def test_absurd_ids_are_refused_not_crashed(database_url: str) -> None:
    # 2**40 does not fit the 32-bit id column: a clear 422 before the database sees it.
    async with running(build_settings(database_url)) as client:
        answers = [
            await client.get(f"/models/{2**40}"),
            await client.patch(f"/models/{2**40}", json={"sort_order": 1}, headers=bearer()),
            await client.delete(f"/models/{2**40}", headers=bearer()),
            await client.get("/models/0"),
        ]
        largest = await client.get("/models/2147483647")
    for answer in answers:
        assert answer.status_code == 422
        assert answer.json()["detail"].startswith("model_id: Input should be")
    assert largest.status_code == 404


class TestWriteAuth:
    async def test_anonymous(self, shared: httpx.AsyncClient) -> None:
        answers = [
            await shared.post("/models", json=VALID),
            await shared.post("/models", json={"name": "x" * 100}),  # auth before input
            await shared.patch("/models/1", json={"sort_order": 2}),
            await shared.delete("/models/1"),
        ]
        for answer in answers:
            assert answer.status_code == 401
            assert answer.json()["detail"].startswith("sign in required")

    @pytest.mark.parametrize(
        "authorization",
        [
            "Bearer wrong-token",
            "Bearer ",
            "Basic Y3VyYXRvcjpzM2NyZXQ=",
            "test-api-token-0123456789abcdef",
        ],
    )
    async def test_bad_token(self, shared: httpx.AsyncClient, authorization: str) -> None:
        answer = await shared.delete("/models/1", headers={"Authorization": authorization})
        assert answer.status_code == 401
        assert answer.json() == {"detail": "invalid API token"}

    async def test_no_token_configured_accepts_none(self, sqlite_url: str) -> None:
        async with running(build_settings(sqlite_url, API_TOKEN=None)) as client:
            answer = await client.delete("/models/1", headers={"Authorization": "Bearer "})
        assert answer.status_code == 401

    async def test_valid_token(self, shared: httpx.AsyncClient) -> None:
        answer = await shared.delete("/models/1", headers=bearer())
        assert answer.status_code == 404  # past auth; nothing to delete

    async def test_session_cookie_needs_its_csrf_header(self, sqlite_url: str) -> None:
        async with running(build_settings(sqlite_url)) as client:
            await sign_in(client)
            token = csrf_of((await client.get("/admin/models/new")).text)
            without = await client.delete("/models/1")
            forged = await client.delete("/models/1", headers={"X-CSRF-Token": "forged"})
            with_header = await client.delete("/models/1", headers={"X-CSRF-Token": token})
        assert without.status_code == forged.status_code == 403
        assert "X-CSRF-Token" in without.json()["detail"]
        assert with_header.status_code == 404


async def test_engine_down_refuses_the_write_with_503_and_saves_nothing(sqlite_url: str) -> None:
    # build_settings points Personalize at a closed loopback port, one attempt.
    async with running(build_settings(sqlite_url)) as client:
        answer = await client.post("/models", json=VALID, headers=bearer())
        listed = await client.get("/models")
    assert answer.status_code == 503
    assert answer.json()["detail"] == (
        "Personalize could not be reached (EndpointConnectionError); "
        "nothing was saved, try again later"
    )
    assert listed.json() == {"data": [], "count": 0}


async def test_form_shows_each_message_next_to_its_field(sqlite_url: str) -> None:
    async with running(build_settings(sqlite_url)) as client:
        await sign_in(client)
        token = csrf_of((await client.get("/admin/models/new")).text)
        answer = await client.post(
            "/admin/models/new",
            data={
                "csrf_token": token,
                "name": "n" * 70,
                "campaign_arn": "arn:aws:personalize:us-east-1:1:solution/x",
                "type": "sims",
                "sort_order": "first",
            },
        )
    assert answer.status_code == 422
    html = answer.text
    assert (
        '<p class="field-error" id="name-error">must be at most 64 characters (got 70)</p>' in html
    )
    assert "not a &#39;solution&#39; ARN</p>" in html
    assert 'id="type-error">Input should be' in html
    assert 'id="sort_order-error">must be a whole number (got &#39;first&#39;)</p>' in html
    # What was typed is kept, so the admin can correct it.
    assert 'value="first"' in html


async def test_form_reports_an_unreachable_engine(sqlite_url: str) -> None:
    async with running(build_settings(sqlite_url)) as client:
        await sign_in(client)
        token = csrf_of((await client.get("/admin/models/new")).text)
        answer = await client.post(
            "/admin/models/new", data={"csrf_token": token, **{k: str(v) for k, v in VALID.items()}}
        )
        listed = await client.get("/models")
    assert answer.status_code == 503
    assert "Personalize could not be reached" in answer.text
    assert listed.json()["count"] == 0


async def test_health_and_readiness(shared: httpx.AsyncClient) -> None:
    assert (await shared.get("/healthz")).json()["status"] == "ok"
    ready = await shared.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "checks": {"database": "ok"}}
    # Personalize is down in this app, yet reads answer: it is not a readiness dependency.
    assert (await shared.get("/models")).status_code == 200


@pytest.mark.parametrize("order", ["١", "²", "1" * 5000, "1e3", "--1"])
async def test_form_sort_order_takes_ascii_whole_numbers_only(sqlite_url: str, order: str) -> None:
    async with running(build_settings(sqlite_url)) as client:
        await sign_in(client)
        token = csrf_of((await client.get("/admin/models/new")).text)
        answer = await client.post(
            "/admin/models/new",
            data={"csrf_token": token, "name": "ordered", "type": "recommendations",
                  "campaign_arn": "arn:aws:personalize:us-east-1:1:campaign/x",
                  "sort_order": order},
        )
    assert answer.status_code == 422
    assert 'id="sort_order-error">must be a whole number' in answer.text
