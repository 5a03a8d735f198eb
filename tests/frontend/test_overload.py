"""The proxy under overload, against real uvicorn processes on loopback: a flood is shed
with 503 + Retry-After, clients that leave cancel their upstream requests, and the first
request after a 10-second burst of 1,000 connections is answered within a second (it
took 20.6 s before: the proxy kept working on the abandoned requests)."""

from __future__ import annotations

import json
import logging
import re
import resource
import selectors
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.frontend.embedded import embedded_frontend
from tests.utils.servers import RunningServer, run_server

STUB = "tests.frontend.upstream_stub:app"
logger = logging.getLogger(__name__)
WRK = shutil.which("wrk") or "/usr/bin/wrk"


@pytest.fixture(scope="module")
def stub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """The catalog's stand-in: `/slow` never answers while its client stays."""
    with run_server(STUB, env={}, log_dir=tmp_path_factory.mktemp("stub")) as server:
        yield server


def _enough_file_descriptors(count: int = 4096) -> None:
    """1,000 connections need as many descriptors in wrk and in the frontend (which
    inherits this process's limit); 1,024 is a common default soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = count if hard == resource.RLIM_INFINITY else min(count, hard)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


@pytest.fixture(scope="module")
def frontend(
    stub: RunningServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    """As `videorecs up` runs it, with the stub as its catalog."""
    _enough_file_descriptors()
    with embedded_frontend(tmp_path_factory.mktemp("frontend"), CATALOG_URL=stub.url) as server:
        yield server


@pytest.fixture
def narrow_frontend(stub: RunningServer, tmp_path: Path) -> Iterator[RunningServer]:
    """Two requests in flight to the catalog at most."""
    with embedded_frontend(tmp_path, CATALOG_URL=stub.url, PROXY_MAX_CONCURRENCY="2") as server:
        yield server


def _in_flight(stub: RunningServer) -> int:
    return int(httpx.get(stub.url + "/inflight", timeout=5).json()["in_flight"])


def _wait_in_flight(stub: RunningServer, expected: int, timeout: float = 5.0) -> float:
    """Seconds until the stub holds `expected` requests; fails after `timeout`."""
    started = time.monotonic()
    while (count := _in_flight(stub)) != expected:
        assert time.monotonic() - started < timeout, f"stub holds {count}, not {expected}"
        time.sleep(0.02)
    return time.monotonic() - started


def _hold(url: str, path: str) -> socket.socket:
    """A client that sends a request and then reads nothing: it only waits, or leaves."""
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=5)
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    return sock


def test_a_client_that_leaves_cancels_its_upstream_request(
    frontend: RunningServer, stub: RunningServer
) -> None:
    _wait_in_flight(stub, 0)
    client = _hold(frontend.url, "/api/catalog/slow")
    _wait_in_flight(stub, 1)
    client.close()
    # The proxy noticed, cancelled the upstream request and closed its connection.
    assert _wait_in_flight(stub, 0, timeout=2) < 1


def test_a_client_that_leaves_mid_answer_stops_the_stream(
    frontend: RunningServer, stub: RunningServer
) -> None:
    _wait_in_flight(stub, 0)
    client = _hold(frontend.url, "/api/catalog/stream")
    assert client.recv(4096).startswith(b"HTTP/1.1 200")
    assert _in_flight(stub) == 1
    client.close()
    assert _wait_in_flight(stub, 0, timeout=2) < 1


def test_a_full_downstream_answers_503_with_retry_after(
    narrow_frontend: RunningServer, stub: RunningServer
) -> None:
    _wait_in_flight(stub, 0)
    held = [_hold(narrow_frontend.url, "/api/catalog/slow") for _ in range(2)]
    try:
        _wait_in_flight(stub, 2)
        started = time.monotonic()
        refused = httpx.get(narrow_frontend.url + "/api/catalog/fast", timeout=5)
        # Refused after the short queue (0.25 s), not after the read timeout.
        assert time.monotonic() - started < 1
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "1"
        assert refused.json() == {
            "detail": "catalog is busy: too many requests in flight, retry shortly"
        }
        # The other downstreams and the page are not held up by the catalog.
        assert httpx.get(narrow_frontend.url + "/", timeout=5).status_code == 200
        held.pop().close()
        _wait_in_flight(stub, 1)
        assert httpx.get(narrow_frontend.url + "/api/catalog/fast", timeout=5).status_code == 200
    finally:
        for sock in held:
            sock.close()


def test_the_next_request_after_a_burst_is_answered_within_a_second(
    frontend: RunningServer, stub: RunningServer
) -> None:
    """wrk keeps 1,000 connections asking for `/slow` (which never answers while they
    stay) for 10 s, then closes them all; loopback only, bounded in time."""
    if not Path(WRK).is_file():
        pytest.fail("wrk is not installed: apt-get install -y wrk")
    url = frontend.url + "/api/catalog/slow"
    burst = subprocess.Popen(
        [WRK, "-t1", "-c1000", "-d10s", "--timeout", "5s", url],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    refusals: list[httpx.Response] = []
    try:
        time.sleep(2)  # the flood has filled the catalog's slots by now
        deadline = time.monotonic() + 6
        while len(refusals) < 3 and time.monotonic() < deadline:
            try:
                refusals.append(httpx.get(url, timeout=1))
            except httpx.TimeoutException:
                pass  # admitted (a slot was free): /slow holds it
        output, _ = burst.communicate(timeout=60)
    finally:
        if burst.poll() is None:
            burst.kill()
            burst.wait()
    assert burst.returncode == 0, output
    # While it lasted, the flood was refused at once, with a hint when to come back.
    assert refusals, "no answer at all during the burst"
    assert [r.status_code for r in refusals] == [503] * len(refusals)
    assert all(r.headers.get("retry-after") == "1" for r in refusals)
    requests = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    assert requests > 1000, output  # refusals are quick: far more answers than connections

    started = time.monotonic()
    after = httpx.get(frontend.url + "/api/catalog/fast", timeout=30)
    latency = time.monotonic() - started
    logger.info("first request after the burst: %d in %.0f ms", after.status_code, latency * 1000)
    assert after.status_code == 200, after.text
    assert latency <= 1.0, f"the first request after the burst took {latency:.2f} s"
    # Nothing of the flood is still running downstream (it would for 30 s otherwise).
    _wait_in_flight(stub, 0, timeout=2)


# --- bodies that never come ------------------------------------------------------------

STALLED = 300  # connections, each announcing a body it never finishes
BODY_TIMEOUT = 2.0  # REQUEST_BODY_TIMEOUT_SECONDS of the frontend below
IN_FLIGHT = 16  # its MAX_REQUESTS_IN_FLIGHT: far fewer than the stalled connections


@pytest.fixture
def deadline_frontend(stub: RunningServer, tmp_path: Path) -> Iterator[RunningServer]:
    _enough_file_descriptors()
    with embedded_frontend(
        tmp_path,
        CATALOG_URL=stub.url,
        REQUEST_BODY_TIMEOUT_SECONDS=str(BODY_TIMEOUT),
        MAX_REQUESTS_IN_FLIGHT=str(IN_FLIGHT),
    ) as server:
        yield server


def _stall(url: str, path: str) -> socket.socket:
    """The reported attack's client: it announces a 100-byte body, sends one byte of it,
    and then nothing, keeping the socket open."""
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    sock.sendall(f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\na".encode())
    return sock


def _until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (fails after 10 s)."""
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def test_stalled_bodies_do_not_take_the_app_offline(
    deadline_frontend: RunningServer, stub: RunningServer
) -> None:
    """300 connections each send the headers of a POST and one byte of its body. Before,
    each held one of the requests in flight for as long as its socket stayed open, and
    every other request (the page, the APIs) got 503 "server is busy". Now a request does
    not count while it waits for its body: the others are served meanwhile, each stalled
    one is answered 408 and closed once the body deadline passes, and no slot stays
    taken afterwards."""
    url = deadline_frontend.url
    stalled: list[socket.socket] = []
    try:
        opened = time.monotonic()
        stalled = [_stall(url, "/api/catalog/stats") for _ in range(STALLED)]
        time.sleep(0.3)  # the frontend has parsed all their headers by now
        with httpx.Client(base_url=url, timeout=5) as client:
            answers = [
                client.get("/"),
                client.get("/api/catalog/fast"),
                client.post("/api/catalog/echo", content=b"{}"),  # a body that does come
            ]
        served = time.monotonic()
        assert [a.status_code for a in answers] == [200, 200, 200], [a.text for a in answers]
        # ...while the stalled requests were still waiting: none had been answered yet.
        assert served - opened < BODY_TIMEOUT
        assert _answered(stalled) == 0

        for sock in stalled:
            answer = _until_closed(sock)
            head, _, body = answer.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 408 "), answer[:200]
            assert b"connection: close" in head.lower()
            assert json.loads(body) == {
                "detail": "request body not received in time: the whole body must arrive "
                f"within {BODY_TIMEOUT:g} seconds of the request headers"
            }
        finished = time.monotonic() - opened
        # Not before the deadline, and within a quarter of it after (one sweep period).
        assert BODY_TIMEOUT <= finished < BODY_TIMEOUT * 1.25 + 2, finished
    finally:
        for sock in stalled:
            sock.close()

    # Every slot is free again: IN_FLIGHT requests are admitted and the next is shed.
    _wait_in_flight(stub, 0)
    held = [_hold(url, "/api/catalog/slow") for _ in range(IN_FLIGHT)]
    try:
        _wait_in_flight(stub, IN_FLIGHT)
        shed = httpx.get(url + "/api/catalog/fast", timeout=5)
        assert shed.status_code == 503
        assert shed.json() == {"detail": "the server is busy, retry shortly"}
    finally:
        for sock in held:
            sock.close()
    _wait_in_flight(stub, 0)


def _answered(socks: list[socket.socket]) -> int:
    """How many of `socks` have something to read (an answer, or a close) right now."""
    with selectors.DefaultSelector() as selector:
        for sock in socks:
            selector.register(sock, selectors.EVENT_READ)
        return len(selector.select(timeout=0))
