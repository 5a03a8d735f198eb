"""A PostgreSQL restart under load (issue 20): stop, 5 s, start. Meanwhile the catalog, the
registry and the engine answer 503 quickly (no request hangs, none is a 500), and within
5 s of the database's return they serve normally again, with no process restarted.

The database is a cluster of this test's own (scripts/pg with its own folder and port):
the suite's shared PostgreSQL must not be stopped. The services run as `videorecs up`
runs them (services/cli/topology.py, services/cli/supervisor.py), on PostgreSQL as in
docker-compose.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from botocore.exceptions import BotoCoreError, ClientError

from services.catalog.loader import MIGRATIONS_DIR as CATALOG_MIGRATIONS
from services.cli.secrets import load_or_create
from services.cli.supervisor import Child, spawn, stop_all, wait_ready
from services.cli.topology import Topology, app_path
from services.common.aws import AwsSettings, open_clients
from services.common.config import normalise_database_url
from services.common.migrations import upgrade_to_head
from tests.utils.servers import ROOT, free_port

SERVICES = ("engine", "catalog", "registry")
AWAY_SECONDS = 5.0
BACK_LIMIT = 5.0  # after the database is back, every service serves normally by then
QUICK = 2.0  # an answer while the database is away comes within this
RATE = 10  # requests/s to each service
REQUEST_TIMEOUT = 10.0


@dataclass
class Cluster:
    root: Path
    port: int

    def _pg(self, command: str) -> str:
        env = {**os.environ, "PG_ROOT": str(self.root), "PG_PORT": str(self.port)}
        done = subprocess.run([str(ROOT / "scripts/pg"), command], env=env, check=True,
                              capture_output=True, text=True, timeout=60)
        return done.stdout.strip()

    def start(self) -> str:
        return self._pg("start")

    def stop(self) -> None:
        self._pg("stop")


@dataclass(frozen=True, slots=True)
class Answer:
    service: str
    sent: float  # monotonic
    seconds: float
    status: int  # 0: no answer
    error: str = ""  # the engine's AWS error code


async def _load(calls: dict[str, Callable[[], Awaitable[tuple[int, str]]]], answers: list[Answer],
                stop: asyncio.Event) -> None:
    """RATE requests/s to each service, each in its own task, until `stop` is set."""
    async def one(service: str) -> None:
        sent = time.monotonic()
        try:
            status, error = await asyncio.wait_for(calls[service](), REQUEST_TIMEOUT)
        except (httpx.HTTPError, BotoCoreError, TimeoutError) as exc:
            status, error = 0, type(exc).__name__
        answers.append(Answer(service, sent, time.monotonic() - sent, status, error))

    tasks: set[asyncio.Task[None]] = set()
    while not stop.is_set():
        for service in calls:
            task = asyncio.ensure_future(one(service))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        await asyncio.sleep(1 / RATE)
    await asyncio.gather(*list(tasks))


@dataclass
class Restart:
    """What the load saw around one PostgreSQL restart."""

    answers: list[Answer]
    stopped: float  # monotonic: the database has stopped
    started: float  # monotonic: it accepts connections again
    processes_kept: bool  # no service exited or was restarted meanwhile

    def summary(self) -> str:
        return _summary(self.answers, self.stopped, self.started)


@pytest.fixture(scope="module")
def restart(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Restart]:
    """The services on a cluster of their own, under load while it restarts: once for
    every test of the module."""
    # Not under pytest's temp folder: when the tests run as root, scripts/pg runs the
    # server as the postgres user, who cannot enter pytest's private folders.
    cluster = Cluster(Path(tempfile.mkdtemp(prefix="videorecs-pg-")), free_port())
    tmp = tmp_path_factory.mktemp("database-restart")
    children: list[Child] = []
    try:
        url = normalise_database_url(cluster.start())
        upgrade_to_head(CATALOG_MIGRATIONS, url)  # the catalog's prestart step
        secrets, _ = load_or_create(tmp / "secrets.env")
        ports = {name: free_port() for name in (*SERVICES, "frontend", "recommender")}
        topology = Topology(
            urls={name: f"http://127.0.0.1:{port}" for name, port in ports.items()},
            database_urls=dict.fromkeys(SERVICES, url),
            artifacts_url=(tmp / "artifacts").as_uri(),
            secrets=secrets,
        )
        for name in SERVICES:
            children.append(spawn(name, app_path(name), host="127.0.0.1", port=ports[name],
                                  env=topology.env(name), log_dir=tmp / "logs"))
        asyncio.run(_wait_all(children))
        pids = [child.process.pid for child in children]
        answers, (stopped, started) = asyncio.run(_restart_under_load(cluster, topology))
        kept = [c.process.pid for c in children if c.process.poll() is None] == pids
        yield Restart(answers, stopped, started, kept)
    finally:
        stop_all(children)
        cluster.stop()
        shutil.rmtree(cluster.root, ignore_errors=True)


@pytest.mark.timeout(240)
@pytest.mark.parametrize("service", ["catalog", "registry", "engine"])
def test_a_postgresql_restart_is_absorbed_within_5_s(restart: Restart, service: str) -> None:
    """503 quickly while the database is away, normal answers within 5 s of its return."""
    summary = restart.summary()
    assert restart.processes_kept, summary
    stopped, started = restart.stopped, restart.started
    mine = [a for a in restart.answers if a.service == service]
    assert [a for a in mine if a.sent < stopped - 1 and a.status != 200] == [], summary
    away = [a for a in mine if stopped + 0.5 < a.sent and a.sent + a.seconds < started]
    assert away, summary
    assert {a.status for a in away} <= {200, 503}, summary  # a cached answer may be 200
    assert max(a.seconds for a in away) <= QUICK, summary
    assert max(a.seconds for a in mine) <= QUICK + 1, summary  # nothing left hanging
    late = [a for a in mine if a.sent >= started + BACK_LIMIT and a.status != 200]
    assert late == [], summary
    assert any(a.status == 200 for a in mine if a.sent >= started + BACK_LIMIT), summary


async def _wait_all(children: list[Child]) -> None:
    await asyncio.gather(*(wait_ready(c, others=children, timeout=120) for c in children))


async def _restart_under_load(
    cluster: Cluster, topology: Topology
) -> tuple[list[Answer], tuple[float, float]]:
    answers: list[Answer] = []
    stop = asyncio.Event()
    async with AsyncExitStack() as stack:
        http = await stack.enter_async_context(httpx.AsyncClient(timeout=REQUEST_TIMEOUT))
        aws = AwsSettings(endpoint_url=topology.urls["engine"], max_attempts=1,
                          access_key_id=topology.env("engine")["ENGINE_ACCESS_KEY_ID"],
                          secret_access_key=topology.env("engine")["ENGINE_SECRET_ACCESS_KEY"])
        personalize = (await open_clients(stack, aws, "personalize"))["personalize"]

        async def catalog() -> tuple[int, str]:
            url = topology.urls["catalog"] + "/movies/popular"
            return (await http.get(url, params={"limit": 5})).status_code, ""

        async def registry() -> tuple[int, str]:
            return (await http.get(topology.urls["registry"] + "/models")).status_code, ""

        async def engine() -> tuple[int, str]:
            try:
                await personalize.list_dataset_groups()
            except ClientError as exc:
                error = exc.response["Error"]
                status = int(exc.response["ResponseMetadata"]["HTTPStatusCode"])
                return status, f"{error.get('Code')}: {error.get('Message')}"
            return 200, ""

        load = asyncio.ensure_future(
            _load({"catalog": catalog, "registry": registry, "engine": engine}, answers, stop)
        )
        await asyncio.sleep(2.0)
        await asyncio.to_thread(cluster.stop)
        stopped = time.monotonic()
        await asyncio.sleep(AWAY_SECONDS)
        await asyncio.to_thread(cluster.start)
        started = time.monotonic()
        await asyncio.sleep(BACK_LIMIT + 2.0)
        stop.set()
        await load
    return answers, (stopped, started)


def _summary(answers: list[Answer], stopped: float, started: float) -> str:
    """Per service and phase: how many answers of each status, and the slowest."""
    lines = []
    for service in SERVICES:
        for phase, keep in (
            ("before", lambda a: a.sent < stopped),
            ("away", lambda a: stopped <= a.sent < started),
            ("back 0-5 s", lambda a: started <= a.sent < started + BACK_LIMIT),
            ("back 5 s+", lambda a: a.sent >= started + BACK_LIMIT),
        ):
            mine = [a for a in answers if a.service == service and keep(a)]
            counts: dict[int, int] = {}
            for a in mine:
                counts[a.status] = counts.get(a.status, 0) + 1
            slowest = max((a.seconds for a in mine), default=0.0)
            errors = sorted({a.error[:120] for a in mine if a.error})
            lines.append(f"{service:9} {phase:11} {counts} slowest {slowest:.2f} s {errors}")
    return "\n".join(lines)
