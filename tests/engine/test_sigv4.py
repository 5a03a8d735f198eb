"""Signature V4 on the engine: the verifier against botocore's signer, and every refusal
over real HTTP on the control plane, runtime and events APIs, with AWS's codes."""

from __future__ import annotations

import datetime
import hmac
import json
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import boto3
import httpx
import pytest
from aiobotocore.session import get_session
from botocore import UNSIGNED
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry

from services.common.middleware import Metrics, RequestContextMiddleware
from services.engine.wire.auth import SigV4Gate
from services.engine.wire.errors import AuthError, InvalidSignature, UnrecognizedClient
from services.engine.wire.sigv4 import SigV4Verifier, _HmacSha256, canonical_query
from tests.engine.conftest import ENGINE_APP, engine_env
from tests.engine.helpers import NO_RETRIES, REGION, Clients, signed_headers
from tests.utils.credentials import (
    ENGINE_ACCESS_KEY_ID,
    ENGINE_SECRET_ACCESS_KEY,
    boto_credentials,
)
from tests.utils.servers import RunningServer, run_server

KEYS = {ENGINE_ACCESS_KEY_ID: ENGINE_SECRET_ACCESS_KEY}
AUTH_CODES = frozenset({
    "MissingAuthenticationTokenException", "UnrecognizedClientException",
    "InvalidSignatureException", "IncompleteSignatureException",
})
MISMATCH = "The request signature we calculated does not match"
# (path, body, extra headers) of one harmless call on each of the three APIs.
CONTROL = ("/", b"{}", {"X-Amz-Target": "AmazonPersonalize.ListCampaigns",
                        "Content-Type": "application/x-amz-json-1.1"})
RUNTIME = ("/recommendations", json.dumps({"campaignArn": "arn:aws:personalize:us-east-1:"
                                           "000000000000:campaign/none", "userId": "1"}).encode(),
           {"Content-Type": "application/json"})
EVENTS = ("/events", json.dumps({"trackingId": "none", "sessionId": "s", "eventList": []}).encode(),
          {"Content-Type": "application/json"})
APIS = pytest.mark.parametrize(
    "api", [CONTROL, RUNTIME, EVENTS], ids=["control-plane", "runtime", "events"]
)


def _asgi_headers(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    return [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]


def _botocore_signed(method: str, url: str, body: bytes, headers: dict[str, str]) -> AWSRequest:
    request = AWSRequest(method=method, url=url, data=body, headers=headers)
    SigV4Auth(Credentials(ENGINE_ACCESS_KEY_ID, ENGINE_SECRET_ACCESS_KEY), "personalize",
              REGION).add_auth(request)
    return request


class Received(NamedTuple):
    """One request as the engine receives it."""

    method: str
    raw_path: bytes
    query_string: bytes
    headers: list[tuple[bytes, bytes]]
    body: bytes


def _verify(verifier: SigV4Verifier, received: Received) -> str:
    """Both steps, as the middleware runs them (the body read in between)."""
    checked = verifier.check_headers(
        received.method, received.raw_path, received.query_string, received.headers
    )
    return verifier.check_signature(checked, received.body)


def _as_received(request: AWSRequest, host: str) -> Received:
    path, _, query = request.url.split(host, 1)[1].partition("?")
    headers = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in request.headers.items()}
    headers["Host"] = host
    return Received(
        method=request.method,
        raw_path=path.encode(),
        query_string=query.encode(),
        headers=_asgi_headers(headers),
        body=request.body or b"",
    )


SEGMENT = st.text(st.sampled_from("abcXYZ019-_.~%20+"), min_size=1, max_size=8)
QUERY_PAIR = st.tuples(SEGMENT, st.text(st.sampled_from("ab1-_.~%2F"), max_size=6))


@settings(max_examples=150, deadline=None, derandomize=True, database=None)
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE"]),
    segments=st.lists(SEGMENT, max_size=4),
    query=st.lists(QUERY_PAIR, max_size=4),
    body=st.binary(max_size=200),
    header_value=st.text(st.sampled_from("ab c\t1,;"), max_size=12),
)
def test_verifier_accepts_what_botocore_signs(
    method: str, segments: list[str], query: list[tuple[str, str]], body: bytes,
    header_value: str,
) -> None:
    """Whatever botocore's own signer signs, the verifier accepts; one changed byte of
    the body, path or a signed header is refused."""
    host = "127.0.0.1:8004"
    url = f"http://{host}/" + "/".join(segments)
    if query:
        url += "?" + "&".join(f"{k}={v}" for k, v in query)
    headers = {"Content-Type": "application/json", "X-Custom": header_value.strip() or "v"}
    request = _botocore_signed(method, url, body, headers)
    verifier = SigV4Verifier(keys=KEYS, region=REGION)
    received = _as_received(request, host)
    assert _verify(verifier, received) == ENGINE_ACCESS_KEY_ID

    tampered = [
        received._replace(body=received.body + b"x"),
        received._replace(raw_path=received.raw_path + b"z"),
        received._replace(
            headers=[(k, v + b"!" if k == b"x-custom" else v) for k, v in received.headers]
        ),
    ]
    for bad in tampered:
        with pytest.raises(InvalidSignature, match=MISMATCH):
            _verify(verifier, bad)


def test_canonical_query_matches_botocore() -> None:
    signer = SigV4Auth(Credentials("a", "b"), "personalize", REGION)
    request = AWSRequest(method="GET", url="http://h/p?b=2&a=3&a=1&c=&d")
    assert canonical_query(b"b=2&a=3&a=1&c=&d").decode() == signer.canonical_query_string(
        request
    )


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(key=st.binary(max_size=100), message=st.binary(max_size=300))
def test_hmac_matches_the_standard_library(key: bytes, message: bytes) -> None:
    expected = hmac.new(key, message, "sha256").hexdigest().encode()
    assert _HmacSha256(key).hexdigest(message) == expected


def test_remembered_credentials_still_check_every_request() -> None:
    """The verifier remembers a client's validated credential scope between requests;
    each request's date, body and signature are still checked, and a scope that failed
    is never remembered."""
    host = "127.0.0.1:8004"
    verifier = SigV4Verifier(keys=KEYS, region=REGION)
    for n in range(3):
        request = _botocore_signed("POST", f"http://{host}/events", b'{"n": %d}' % n, {})
        received = _as_received(request, host)
        assert _verify(verifier, received) == ENGINE_ACCESS_KEY_ID
        with pytest.raises(InvalidSignature, match=MISMATCH):
            _verify(verifier, received._replace(body=b'{"n": -1}'))
        # The same Authorization with another day's X-Amz-Date: the scope no longer fits.
        other_day = [
            (k, b"20200101T000000Z" if k == b"x-amz-date" else v) for k, v in received.headers
        ]
        with pytest.raises(InvalidSignature, match="Date in Credential scope"):
            _verify(verifier, received._replace(headers=other_day))
    assert len(verifier._credentials) == 1  # one client, one day, one set of headers

    stranger = AWSRequest(method="POST", url=f"http://{host}/events", data=b"{}", headers={})
    SigV4Auth(Credentials("AKIDSTRANGER", "x" * 40), "personalize", REGION).add_auth(stranger)
    for _ in range(2):
        with pytest.raises(UnrecognizedClient):
            _verify(verifier, _as_received(stranger, host))
    assert len(verifier._credentials) == 1


def _verify_at(stamp_time: datetime.datetime, now: float) -> None:
    headers = signed_headers("http://127.0.0.1:1/", body=b"{}", when=stamp_time)
    headers["host"] = "127.0.0.1:1"
    verifier = SigV4Verifier(keys=KEYS, region=REGION, clock=lambda: now)
    _verify(verifier, Received("POST", b"/", b"", _asgi_headers(headers), b"{}"))


def test_request_time_within_fifteen_minutes() -> None:
    at = datetime.datetime(2026, 11, 30, 12, 0, 0, tzinfo=datetime.UTC)
    _verify_at(at, at.timestamp() + 14 * 60)
    _verify_at(at, at.timestamp() - 14 * 60)
    with pytest.raises(InvalidSignature) as stale:
        _verify_at(at, at.timestamp() + 16 * 60)
    assert stale.value.message == (
        "Signature expired: 20261130T120000Z is now earlier than 20261130T120100Z "
        "(20261130T121600Z - 15 min.)"
    )
    with pytest.raises(InvalidSignature, match="Signature not yet current"):
        _verify_at(at, at.timestamp() - 16 * 60)


@pytest.mark.parametrize(
    ("authorization", "code"),
    [
        ("Bearer abc", "IncompleteSignatureException"),
        ("AWS4-HMAC-SHA256 Credential=x", "IncompleteSignatureException"),
        ("AWS4-HMAC-SHA256 Credential=a/b, SignedHeaders=host, Signature=00",
         "IncompleteSignatureException"),
    ],
)
def test_malformed_authorization(authorization: str, code: str) -> None:
    verifier = SigV4Verifier(keys=KEYS, region=REGION)
    headers = {"authorization": authorization, "x-amz-date": "20261130T120000Z", "host": "h"}
    with pytest.raises(AuthError) as refused:
        _verify(verifier, Received("POST", b"/", b"", _asgi_headers(headers), b""))
    assert refused.value.code == code


# --- over real HTTP -------------------------------------------------------------------


def _call(engine: RunningServer, api: tuple[str, bytes, dict[str, str]], **sign: Any) -> Any:
    path, body, headers = api
    url = engine.url + path
    sent = signed_headers(url, body=body, headers=headers, **sign)
    return httpx.post(url, content=body, headers=sent, timeout=10)


def _assert_refused(response: httpx.Response, path: str, code: str, message: str) -> None:
    control_plane = path == "/"
    assert response.status_code == (400 if control_plane else 403), response.text
    assert response.headers["x-amzn-errortype"] == code
    assert response.json()["__type"] == code
    assert message in response.json()["message"]
    if control_plane:
        assert response.headers["content-type"] == "application/x-amz-json-1.1"


@APIS
def test_signed_call_is_answered(engine: RunningServer, api: Any) -> None:
    response = _call(engine, api)
    assert response.status_code < 500
    assert response.headers.get("x-amzn-errortype") not in AUTH_CODES


@APIS
def test_unsigned_call_is_refused(engine: RunningServer, api: Any) -> None:
    path, body, headers = api
    response = httpx.post(engine.url + path, content=body, headers=headers, timeout=10)
    _assert_refused(response, path, "MissingAuthenticationTokenException",
                    "Request is missing Authentication Token")


@APIS
def test_unknown_key_is_refused(engine: RunningServer, api: Any) -> None:
    response = _call(engine, api, key_id="VRAKNOSUCHKEY00000", secret="x" * 40)
    _assert_refused(response, api[0], "UnrecognizedClientException",
                    "The security token included in the request is invalid.")


@APIS
def test_wrong_secret_is_refused(engine: RunningServer, api: Any) -> None:
    response = _call(engine, api, secret=ENGINE_SECRET_ACCESS_KEY + "x")
    _assert_refused(response, api[0], "InvalidSignatureException", MISMATCH)


@APIS
def test_stale_date_is_refused(engine: RunningServer, api: Any) -> None:
    when = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=20)
    response = _call(engine, api, when=when)
    _assert_refused(response, api[0], "InvalidSignatureException", "Signature expired: ")


@APIS
def test_made_up_signature_is_refused(engine: RunningServer, api: Any) -> None:
    path, body, headers = api
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    forged = {
        **headers,
        "X-Amz-Date": stamp,
        "Authorization": f"AWS4-HMAC-SHA256 Credential={ENGINE_ACCESS_KEY_ID}/{stamp[:8]}/"
        f"{REGION}/personalize/aws4_request, SignedHeaders=host;x-amz-date, Signature={'0' * 64}",
    }
    response = httpx.post(engine.url + path, content=body, headers=forged, timeout=10)
    _assert_refused(response, path, "InvalidSignatureException", MISMATCH)


@APIS
def test_replayed_signature_with_another_body_or_host_is_refused(
    engine: RunningServer, api: Any
) -> None:
    path, body, headers = api
    sent = signed_headers(engine.url + path, body=body, headers=headers)
    other_body = httpx.post(engine.url + path, content=body + b" ", headers=sent, timeout=10)
    _assert_refused(other_body, path, "InvalidSignatureException", MISMATCH)
    other_host = httpx.post(engine.url + path, content=body,
                            headers={**sent, "Host": "evil.example"}, timeout=10)
    _assert_refused(other_host, path, "InvalidSignatureException", MISMATCH)


def test_wrong_region_is_refused(engine: RunningServer) -> None:
    response = _call(engine, CONTROL, region="eu-west-1")
    _assert_refused(response, "/", "InvalidSignatureException",
                    "Credential should be scoped to a valid region, not 'eu-west-1'")


def test_host_must_be_signed(engine: RunningServer) -> None:
    path, body, headers = CONTROL
    sent = signed_headers(engine.url + path, body=body, headers=headers)
    sent["Authorization"] = sent["Authorization"].replace("host;", "")
    response = httpx.post(engine.url + path, content=body, headers=sent, timeout=10)
    _assert_refused(response, path, "InvalidSignatureException", "'Host' or ':authority'")


def test_cross_site_text_plain_post_is_refused(engine: RunningServer) -> None:
    """What a foreign web page can send (a "simple" request needs no CORS preflight)."""
    response = httpx.post(
        engine.url + "/recommendations",
        content=RUNTIME[1],
        headers={"Content-Type": "text/plain", "Origin": "http://evil.example"},
        timeout=10,
    )
    _assert_refused(response, "/recommendations", "MissingAuthenticationTokenException",
                    "missing Authentication Token")
    assert "access-control-allow-origin" not in response.headers


def test_refusal_keeps_the_connection(engine: RunningServer) -> None:
    """A refused call is answered on a connection the next (signed) call can reuse."""
    path, body, headers = CONTROL
    with httpx.Client(timeout=10) as http:
        refused = http.post(engine.url + path, content=body, headers=headers)
        port = refused.extensions["network_stream"].get_extra_info("client_addr")
        answered = http.post(engine.url + path, content=body,
                             headers=signed_headers(engine.url + path, body=body, headers=headers))
        assert refused.status_code == 400
        assert answered.status_code == 200
        assert answered.extensions["network_stream"].get_extra_info("client_addr") == port


@pytest.mark.parametrize("service", ["personalize", "personalize-runtime", "personalize-events"])
def test_boto3_clients_with_and_without_credentials(engine: RunningServer, service: str) -> None:
    calls = {
        "personalize": lambda c: c.list_campaigns(),
        "personalize-runtime": lambda c: c.get_recommendations(
            campaignArn="arn:aws:personalize:us-east-1:000000000000:campaign/none", userId="1"),
        "personalize-events": lambda c: c.put_events(
            trackingId="none", sessionId="s",
            eventList=[{"eventType": "click", "sentAt": 1}]),
    }
    common = {"endpoint_url": engine.url, "region_name": REGION}
    signed = boto3.client(service, **common, **boto_credentials(), config=NO_RETRIES)
    try:
        calls[service](signed)
    except ClientError as exc:  # no such resource, or a bad id: the call got through
        assert exc.response["Error"]["Code"] not in AUTH_CODES
    unsigned = boto3.client(service, **common,
                            config=Config(signature_version=UNSIGNED, retries={"max_attempts": 1}))
    with pytest.raises(ClientError) as refused:
        calls[service](unsigned)
    assert refused.value.response["Error"]["Code"] == "MissingAuthenticationTokenException"
    wrong = boto3.client(service, **common, aws_access_key_id=ENGINE_ACCESS_KEY_ID,
                         aws_secret_access_key="not-the-secret-at-all-000", config=NO_RETRIES)
    with pytest.raises(ClientError) as bad:
        calls[service](wrong)
    assert bad.value.response["Error"]["Code"] == "InvalidSignatureException"


async def test_aiobotocore_client_signs(engine: RunningServer, clients: Clients) -> None:
    session = get_session()
    async with session.create_client(
        "personalize", endpoint_url=engine.url, region_name=REGION, **boto_credentials()
    ) as client:
        answer = await client.list_dataset_groups()
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert {g["datasetGroupArn"] for g in answer["datasetGroups"]} == {
        g["datasetGroupArn"] for g in clients.personalize.list_dataset_groups()["datasetGroups"]
    }


def test_open_paths_need_no_signature(engine: RunningServer) -> None:
    for path in ("/healthz", "/metrics"):
        assert httpx.get(engine.url + path, timeout=10).status_code == 200
    console = httpx.get(engine.url + "/console/", timeout=10)
    assert console.status_code in (200, 303, 307, 503)  # its own sign-in, or switched off


def test_second_key_pair_works_during_a_rotation(tmp_path: Path) -> None:
    new_id, new_secret = "VRAKROTATEDKEY0001", "rotated-secret-access-key-0123456789"
    env = engine_env(f"sqlite:///{tmp_path / 'e.db'}", f"file://{tmp_path / 'art'}",
                     ENGINE_ADDITIONAL_KEYS=f"{new_id}:{new_secret}")
    with run_server(ENGINE_APP, env=env, log_dir=tmp_path) as server:
        for key_id, secret in ((ENGINE_ACCESS_KEY_ID, ENGINE_SECRET_ACCESS_KEY),
                               (new_id, new_secret)):
            response = _call(server, CONTROL, key_id=key_id, secret=secret)
            assert response.status_code == 200, response.text


def _start_engine(env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    code = "import services.engine.main"
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=60, cwd=Path(__file__).resolve().parents[2])


def test_engine_refuses_to_start_without_a_key_pair(tmp_path: Path) -> None:
    env = engine_env(f"sqlite:///{tmp_path / 'e.db'}", f"file://{tmp_path / 'art'}")
    for name in ("ENGINE_ACCESS_KEY_ID", "ENGINE_SECRET_ACCESS_KEY"):
        env.pop(name)
    result = _start_engine({"PATH": "/usr/bin:/bin", **env}, tmp_path)
    assert result.returncode != 0
    assert "ENGINE_ACCESS_KEY_ID and ENGINE_SECRET_ACCESS_KEY must be set" in result.stderr


def test_engine_refuses_a_weak_secret(tmp_path: Path) -> None:
    env = engine_env(f"sqlite:///{tmp_path / 'e.db'}", f"file://{tmp_path / 'art'}",
                     ENGINE_SECRET_ACCESS_KEY="changeme")
    result = _start_engine({"PATH": "/usr/bin:/bin", **env}, tmp_path)
    assert result.returncode != 0
    assert "must be at least 20 characters" in result.stderr


def test_anonymous_mode_is_loud(tmp_path: Path) -> None:
    env = engine_env(f"sqlite:///{tmp_path / 'e.db'}", f"file://{tmp_path / 'art'}",
                     ENGINE_ALLOW_ANONYMOUS="true")
    for name in ("ENGINE_ACCESS_KEY_ID", "ENGINE_SECRET_ACCESS_KEY"):
        env.pop(name)
    with run_server(ENGINE_APP, env=env, log_dir=tmp_path) as server:
        path, body, headers = CONTROL
        assert httpx.post(server.url + path, content=body, headers=headers).status_code == 200
        log = server.log()
    assert "ENGINE_ALLOW_ANONYMOUS=true" in log and "WARNING" in log


# --- nothing of the body before the headers are checked; slow and vanishing bodies --------

FOUR_MIB = 4 * 1024 * 1024


def _raw_head(url: str, path: str, length: int, headers: dict[str, str]) -> bytes:
    """The request line and headers of a POST announcing a body of `length` bytes."""
    host = url.removeprefix("http://")
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {length}"]
    lines += [f"{k}: {v}" for k, v in headers.items() if k.lower() not in ("host",
                                                                         "content-length")]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _connect(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=10)


def _read_answer(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """Status, headers (lower-case names) and body of one response with Content-Length."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed before an answer: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    while len(body) < int(headers["content-length"]):
        chunk = sock.recv(65536)
        assert chunk, "connection closed mid-answer"
        body += chunk
    return int(status_line.split()[1]), headers, body


HEADER_REFUSALS = {
    "no Authorization": ({}, "MissingAuthenticationTokenException"),
    "not SigV4": ({"Authorization": "Bearer abc"}, "IncompleteSignatureException"),
    "no date": ({"X-Amz-Date": None}, "IncompleteSignatureException"),
    "unknown key": ({"key_id": "VRAKNOSUCHKEY00000"}, "UnrecognizedClientException"),
    "wrong region": ({"region": "eu-west-1"}, "InvalidSignatureException"),
    "20 minutes old": ({"when": datetime.datetime.now(datetime.UTC)
                                - datetime.timedelta(minutes=20)},
                       "InvalidSignatureException"),
    "host not signed": ({"SignedHeaders": "host;"}, "InvalidSignatureException"),
    "unsigned payload": ({"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"},
                         "InvalidSignatureException"),
}


def _refused_headers(case: str, url: str) -> dict[str, str]:
    """Signed headers for `url`, spoilt as HEADER_REFUSALS[case] says."""
    change, _ = HEADER_REFUSALS[case]
    sign = {k: v for k, v in change.items() if k in ("key_id", "region", "when")}
    headers = signed_headers(url, body=b"{}", headers={"Content-Type": "application/json"},
                             **sign)
    if case == "no Authorization":
        del headers["Authorization"]
    elif case == "host not signed":
        headers["Authorization"] = headers["Authorization"].replace("host;", "")
    for name, value in change.items():
        if name[0].isupper() and name != "SignedHeaders":
            headers.pop(name, None)
            if value is not None:
                headers[name] = value
    return headers


@pytest.mark.parametrize("case", list(HEADER_REFUSALS))
async def test_header_refusals_never_read_the_body(case: str) -> None:
    """Whatever the headers alone decide is refused before `receive` is called once: the
    gate in the shared middleware, as the engine runs it."""
    url = "http://127.0.0.1:1/events"

    async def receive() -> Any:
        raise AssertionError("the body was read")

    async def app(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError("the app was reached")

    sent: list[Any] = []

    async def send(message: Any) -> None:
        sent.append(message)

    headers = {**_refused_headers(case, url), "host": "127.0.0.1:1",
               "content-length": str(FOUR_MIB)}
    scope = {"type": "http", "method": "POST", "path": "/events", "raw_path": b"/events",
             "query_string": b"", "headers": _asgi_headers(headers)}
    middleware = RequestContextMiddleware(
        app, metrics=Metrics(CollectorRegistry()), access_log=False,
        max_body_bytes=2 * FOUR_MIB, gate=SigV4Gate(keys=KEYS, region=REGION),
    )
    await middleware(scope, receive, send)
    assert sent[0]["status"] == 403
    assert json.loads(sent[1]["body"])["__type"] == HEADER_REFUSALS[case][1]


@APIS
def test_unsigned_call_is_refused_before_its_body_arrives(engine: RunningServer, api: Any) -> None:
    """A 4 MiB body announced and never sent: refused at once, not after the body (which
    the engine used to wait for and hold) nor after the body deadline (10 s here)."""
    path, _, headers = api
    with _connect(engine.url) as sock:
        started = time.monotonic()
        sock.sendall(_raw_head(engine.url, path, FOUR_MIB, headers))
        status, answer_headers, body = _read_answer(sock)
        assert time.monotonic() - started < 2
    assert status == (400 if path == "/" else 403)
    assert answer_headers["x-amzn-errortype"] == "MissingAuthenticationTokenException"
    assert json.loads(body)["message"] == "Request is missing Authentication Token"


def _rss_bytes(server: RunningServer) -> int:
    status = Path(f"/proc/{server.process.pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) * 1024  # type: ignore[union-attr]


def test_unsigned_bodies_are_not_held(engine: RunningServer) -> None:
    """The reported attack: 20 connections each announce 4 MiB, unsigned, and send all
    but its last byte. The engine used to buffer every one of them (+80 MiB until the
    sockets closed); now each is refused from its headers and its bytes are dropped."""
    path, _, headers = EVENTS
    before = _rss_bytes(engine)
    socks = [_connect(engine.url) for _ in range(20)]
    try:
        for sock in socks:
            sock.sendall(_raw_head(engine.url, path, FOUR_MIB, headers) + b"x" * (FOUR_MIB - 1))
        time.sleep(0.5)  # the engine has read what the kernel still held
        grown = _rss_bytes(engine) - before
        statuses = [_read_answer(sock)[0] for sock in socks]
    finally:
        for sock in socks:
            sock.close()
    assert statuses == [403] * 20
    assert grown < 16 * 1024 * 1024, f"the engine grew by {grown / 2**20:.0f} MiB"


BODY_TIMEOUT = 1.0  # REQUEST_BODY_TIMEOUT_SECONDS of strict_engine


@pytest.fixture(scope="module")
def strict_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """An engine of its own (its /metrics and access log see only these tests) with a
    one-second body deadline."""
    folder = tmp_path_factory.mktemp("strict-engine")
    env = engine_env(f"sqlite:///{folder / 'e.db'}", f"file://{folder / 'art'}",
                     REQUEST_BODY_TIMEOUT_SECONDS=str(BODY_TIMEOUT), ACCESS_LOG="true",
                     LOG_LEVEL="INFO")
    with run_server(ENGINE_APP, env=env, log_dir=folder) as server:
        yield server


@APIS
def test_a_signed_body_that_never_comes_is_a_408(strict_engine: RunningServer, api: Any) -> None:
    """Headers that pass, then 3 bytes of the 100 announced: at the deadline, a 408 in
    the AWS shape (botocore retries RequestTimeoutException) and the connection closed."""
    path, body, headers = api
    url = strict_engine.url
    signed = signed_headers(url + path, body=body, headers=headers)
    with _connect(url) as sock:
        started = time.monotonic()
        sock.sendall(_raw_head(url, path, 100, signed) + body[:3])
        status, answer_headers, answer = _read_answer(sock)
        elapsed = time.monotonic() - started
        assert sock.recv(1) == b""  # closed: the rest of the body is no next request
    assert status == 408
    assert answer_headers["x-amzn-errortype"] == "RequestTimeoutException"
    assert answer_headers["connection"] == "close"
    assert json.loads(answer)["message"] == (
        "request body not received in time: the whole body must arrive within "
        f"{BODY_TIMEOUT:g} seconds of the request headers"
    )
    assert BODY_TIMEOUT <= elapsed < BODY_TIMEOUT * 1.25 + 1


def _metric_lines(server: RunningServer) -> list[str]:
    text = httpx.get(server.url + "/metrics", timeout=10).text
    return [line for line in text.splitlines() if line.startswith("http_requests_total{")]


def test_clients_that_hang_up_are_499_not_500(strict_engine: RunningServer) -> None:
    """The reported reproducer, signed and unsigned, on the three APIs: a client sends
    3 of 100 announced bytes and closes. Its request used to count (and log) as a 500;
    it is a 499 now, and an unsigned one is refused from its headers before it leaves."""
    url = strict_engine.url
    for path, body, headers in (CONTROL, RUNTIME, EVENTS):
        for signed in (signed_headers(url + path, body=body, headers=headers), {}):
            sock = _connect(url)
            sock.sendall(_raw_head(url, path, 100, signed) + b"abc")
            sock.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        left = sum(float(line.rsplit(" ", 1)[1]) for line in _metric_lines(strict_engine)
                   if 'status="499"' in line)
        if left >= 3:
            break
        time.sleep(0.1)
    lines = _metric_lines(strict_engine)
    assert any('status="499"' in line for line in lines), lines
    assert not any('status="500"' in line for line in lines), lines
    access = [json.loads(line) for line in strict_engine.log().splitlines()
              if line.startswith("{") and '"videorecs.access"' in line]
    assert "POST /events 499" in {entry["message"] for entry in access}
    assert not [entry for entry in access if entry["status"] == 500]
