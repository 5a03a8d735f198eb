"""Bad input is a 4xx, never a 500: deep nesting, numbers past the database's columns,
and a 500 that does happen answers without dropping the client's connection."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.engine.wire.validate import MAX_DEPTH
from tests.engine.conftest import engine_env
from tests.engine.helpers import Clients, create_group, signed_headers, unique, wait_for
from tests.utils.servers import RunningServer, run_server

# raising_app's route (not imported: importing it would build the engine in this process).
BOOM_PATH = "/test-only/boom"
TARGET = "AmazonPersonalize."
JSON_11 = "application/x-amz-json-1.1"


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def _post(
    client: httpx.Client, path: str, body: bytes, headers: dict[str, str] | None = None
) -> httpx.Response:
    """A raw, correctly signed POST on `client`'s (kept-alive) connection."""
    url = f"{client.base_url}".rstrip("/") + path
    return client.post(path, content=body, headers=signed_headers(url, body=body, headers=headers))


def _control(client: httpx.Client, operation: str, body: bytes) -> httpx.Response:
    return _post(client, "/", body, {"X-Amz-Target": TARGET + operation, "Content-Type": JSON_11})


def _local_port(response: httpx.Response) -> int:
    return int(response.extensions["network_stream"].get_extra_info("client_addr")[1])


def _assert_invalid(response: httpx.Response, *words: str) -> str:
    assert response.status_code == 400, response.text
    assert response.json()["__type"] == "InvalidInputException"
    message = str(response.json()["message"])
    for word in words:
        assert word in message, message
    return message


def test_a_schema_nested_5000_deep_is_invalid_input(clients: Clients) -> None:
    p = clients.personalize
    for schema in (
        _nested(5000),
        json.dumps({"type": "record", "name": "Deep", "fields": "PLACE"}).replace(
            '"PLACE"', _nested(4000)
        ),
    ):
        with pytest.raises(p.exceptions.InvalidInputException) as refused:
            p.create_schema(name=unique("deep"), schema=schema)
        assert "nests deeper than 16 levels" in refused.value.response["Error"]["Message"]


def test_deeply_nested_request_bodies_are_400(engine: RunningServer) -> None:
    too_deep = _nested(MAX_DEPTH + 5)
    with httpx.Client(base_url=engine.url, timeout=30) as client:
        # Deeper than orjson parses at all (1,024): not valid JSON.
        _assert_invalid(_control(client, "ListRecipes", f'{{"x": {_nested(5000)}}}'.encode()))
        # Parsed, then refused before any code walks it (repr, json.dumps).
        for operation, body in [
            ("CreateDatasetGroup", f'{{"name": {_nested(1000)}}}'),
            ("CreateDatasetGroup", f'{{"name": {too_deep}}}'),
            ("CreateSolution", f'{{"name": "s", "solutionConfig": {{"a": {_nested(1000)}}}}}'),
            ("CreateCampaign", f'{{"name": "c", "campaignConfig": {{"a": {_nested(900)}}}}}'),
        ]:
            _assert_invalid(_control(client, operation, body.encode()), "nests deeper")
        for path in ("/recommendations", "/personalize-ranking", "/events"):
            _assert_invalid(_post(client, path, f'{{"context": {too_deep}}}'.encode()), "nests")
        # One level inside the bound still reaches the operation's own checks.
        _assert_invalid(
            _control(
                client, "CreateDatasetGroup", f'{{"name": {_nested(MAX_DEPTH - 1)}}}'.encode()
            ),
            "Member must be a string",
        )


@pytest.fixture(scope="module")
def tracking_id(clients: Clients, tmp_path_factory: pytest.TempPathFactory) -> str:
    p = clients.personalize
    group = create_group(p, tmp_path_factory.mktemp("bad-input"))
    created = p.create_event_tracker(name=unique("tracker"), datasetGroupArn=group["group"])
    wait_for(p.describe_event_tracker, "eventTracker", eventTrackerArn=created["eventTrackerArn"])
    return str(created["trackingId"])


def _put_events(client: httpx.Client, tracking_id: str, **event: Any) -> httpx.Response:
    body = {
        "trackingId": tracking_id,
        "userId": "u1",
        "sessionId": "s1",
        "eventList": [{"eventType": "watch", "itemId": "i1", **event}],
    }
    return _post(client, "/events", json.dumps(body).encode())


@pytest.mark.parametrize("sent_at", ["1e30", str(2**63), str(2**64 - 1), "-1", "1e19"])
def test_sent_at_out_of_range_is_400_naming_the_field(
    engine: RunningServer, tracking_id: str, sent_at: str
) -> None:
    with httpx.Client(base_url=engine.url, timeout=30) as client:
        body = json.dumps(
            {
                "trackingId": tracking_id,
                "sessionId": "s1",
                "eventList": [{"eventType": "watch", "itemId": "i1", "sentAt": "SENT"}],
            }
        ).replace('"SENT"', sent_at)
        _assert_invalid(_post(client, "/events", body.encode()), "eventList[0].sentAt")


def test_numbers_in_range_still_store(engine: RunningServer, tracking_id: str) -> None:
    """The bounds refuse only what the columns cannot hold: a huge integer eventValue is
    stored as the float the column is (SQLite refused to bind it as an integer)."""
    with httpx.Client(base_url=engine.url, timeout=30) as client:
        ok = _put_events(client, tracking_id, sentAt=1_700_000_000.5, eventValue=2**63)
        assert ok.status_code == 200, ok.text
        edge = _put_events(client, tracking_id, sentAt=253_402_300_799)
        assert edge.status_code == 200, edge.text


def test_min_provisioned_tps_past_the_column_is_400(clients: Clients) -> None:
    p = clients.personalize
    version = "arn:aws:personalize:us-east-1:000000000000:solution/x/abcdef12"
    with pytest.raises(p.exceptions.InvalidInputException) as refused:
        p.create_campaign(name=unique("c"), solutionVersionArn=version, minProvisionedTPS=2**63)
    assert "minProvisionedTPS" in refused.value.response["Error"]["Message"]


@pytest.fixture(scope="module")
def raising_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    home: Path = tmp_path_factory.mktemp("raising-engine")
    env = engine_env(f"sqlite:///{home / 'engine.db'}", f"file://{home / 'artifacts'}")
    with run_server("tests.engine.raising_app:app", env=env, log_dir=home) as server:
        yield server


def test_an_unexpected_error_keeps_the_connection_open(raising_engine: RunningServer) -> None:
    """A 500 is answered, not re-raised to uvicorn (which would close the connection and
    make the client's next pooled request fail with a reset)."""
    with httpx.Client(base_url=raising_engine.url, timeout=30) as client:
        boom = _post(client, BOOM_PATH, b"{}")
        assert boom.status_code == 500
        assert boom.json() == {
            "__type": "ServiceUnavailableException",
            "message": "Internal error.",
        }
        assert boom.headers["x-amzn-requestid"]
        assert boom.headers.get("connection", "").lower() != "close"
        after = _control(client, "ListRecipes", b"{}")
        assert after.status_code == 200, after.text
        assert _local_port(after) == _local_port(boom)  # the same connection, reused
    assert "provoked by tests/engine/raising_app.py" in raising_engine.log()


def test_client_errors_keep_the_connection_open(engine: RunningServer) -> None:
    with httpx.Client(base_url=engine.url, timeout=30) as client:
        answers = [
            _control(
                client, "CreateSchema", json.dumps({"name": "d", "schema": "[" * 5000}).encode()
            ),
            _control(client, "ListRecipes", b"{not json"),
            _post(client, "/events", b'{"context": ' + _nested(100).encode() + b"}"),
        ]
        assert [a.status_code for a in answers] == [400, 400, 400]
        after = _control(client, "ListRecipes", b"{}")
        assert after.status_code == 200
        assert {_local_port(a) for a in [*answers, after]} == {_local_port(after)}


@pytest.mark.parametrize("path", ["/", "/recommendations", "/events"])
def test_oversized_body_is_a_413_in_the_aws_shape(engine: RunningServer, path: str) -> None:
    """Over the engine's 4 MiB: refused before it is read or verified, as AWS-shaped JSON."""
    body = b"{" + b" " * (4 * 1024 * 1024) + b"}"
    with httpx.Client(base_url=engine.url, timeout=30) as client:
        stated = client.post(path, content=body)
        streamed = client.post(path, content=iter([body[:1024], body[1024:]]))  # chunked
    for answer in (stated, streamed):
        assert answer.status_code == 413, answer.text
        assert answer.headers["x-amzn-errortype"] == "RequestEntityTooLargeException"
        assert "at most 4194304 bytes" in answer.json()["message"]
