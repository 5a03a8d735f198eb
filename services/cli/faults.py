"""Kill a service of a running `videorecs up` and measure what the web app's users see.

Shared by the fault test (tests/cli/test_faults.py, a short run in CI) and
`python -m bench.faults` (a longer one, figures beside the targets). Both run
`videorecs up`, put a steady open-loop load through the web app's origin and, one
service at a time, `kill -9` its process (the pid from the run's services.json) and
time how long until it answers again and until every answer is whole again.

The load mixes three kinds of request, each with the services it cannot answer without:

    compare   the two-model comparison: GET /api/recommender/users/{u}/recommendations
              (frontend, recommender, catalog; the registry's model list and the engine's
              campaigns only degrade it: a stale list, a block with an error)
    catalog   GET /api/catalog/movies/popular (frontend, catalog)
    registry  GET /api/registry/models (frontend, registry; without the engine a model's
              recipe is null)

An answer is `failed` (a 5xx or no answer at all), `degraded` (200, but a block carries
an error) or whole. Targets: the killed service answers again within 3 s; requests fail
only while a service they need is down (none of the other kinds, none after it is back);
nothing the pipeline made is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from services.cli.secrets import SECRETS_FILE, engine_credentials
from services.cli.supervisor import SERVICES_FILE

TARGET_BACK_SECONDS = 3.0
# Requests sent this long after the killed service answered again must all be whole:
# covers answers already on their way back when it returned.
LATE_GRACE_SECONDS = 0.5
REQUEST_TIMEOUT = 5.0
KINDS = ("compare", "catalog", "registry")
# What each kind cannot answer without (see the module docstring).
NEEDS: dict[str, frozenset[str]] = {
    "compare": frozenset({"frontend", "recommender", "catalog"}),
    "catalog": frozenset({"frontend", "catalog"}),
    "registry": frozenset({"frontend", "registry"}),
}
KIND_WEIGHTS = {"compare": 3, "catalog": 1, "registry": 1}
MOVIELENS_USERS = 943
READY_LINE = "videorecs is running at"  # services/cli/embedded.py's banner


class UpFailed(RuntimeError):
    """`videorecs up` exited or was not ready in time; the message holds its output."""


@dataclass
class UpRun:
    """A `videorecs up` started as a user would, its output in a file."""

    process: subprocess.Popen[bytes]
    output: Path
    url: str  # the web app's origin

    def text(self) -> str:
        return self.output.read_text(errors="replace")


@contextmanager
def videorecs_up(
    workdir: Path, *, data: Path, posters: Path, base: int, timeout: float,
    options: Sequence[str] = (),
) -> Iterator[UpRun]:
    """`videorecs up` in `workdir` (state in workdir/.data) on ports base..base+4, from
    its banner until the block ends; then stopped, after a failure too."""
    output = workdir / f"up-{time.monotonic_ns()}.log"
    cmd = [str(Path(sys.executable).with_name("videorecs")), "up",
           "--data", str(data.resolve()), "--posters", str(posters.resolve()),
           "--port", str(base), "--base-port", str(base + 1), *options]
    with output.open("wb") as out:
        process = subprocess.Popen(cmd, cwd=workdir, stdout=out, stderr=subprocess.STDOUT,
                                   env={**os.environ, "COLUMNS": "200"})
    run = UpRun(process, output, f"http://127.0.0.1:{base}")
    try:
        deadline = time.monotonic() + timeout
        while READY_LINE not in run.text():
            if process.poll() is not None:
                raise UpFailed(f"videorecs up exited with {process.returncode}:\n{run.text()}")
            if time.monotonic() > deadline:
                raise UpFailed(f"videorecs up not ready after {timeout:g} s:\n{run.text()}")
            time.sleep(0.25)
        yield run
    finally:
        stop_everything(process, workdir / ".data")


def stop_everything(process: subprocess.Popen[bytes], state_dir: Path) -> None:
    """Ctrl-C first, so `up` stops its children (they have sessions of their own, and a
    SIGKILL of `up` would leave them running); then SIGKILL whatever services.json still
    names. Warm spares need nothing: they exit when `up`'s end of their stdin closes."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    try:
        services = read_services(state_dir)
    except (OSError, ValueError, KeyError):
        return
    for row in services.values():
        if row.get("pid"):
            with contextlib.suppress(ProcessLookupError):
                os.kill(row["pid"], signal.SIGKILL)


@dataclass(frozen=True, slots=True)
class Outcome:
    kind: str
    sent: float  # monotonic
    done: float
    status: int  # 0: no answer (refused, reset, timed out)
    degraded: bool = False
    error: str = ""

    @property
    def failed(self) -> bool:
        return self.status == 0 or self.status >= 500


@dataclass
class FaultResult:
    """One kill: what the killed service and the load saw."""

    service: str
    killed_at: float  # monotonic
    back_seconds: float | None  # kill → the service's /healthz answered again
    whole_seconds: float | None  # kill → the last failed or degraded answer
    requests: int = 0
    failed: dict[str, int] = field(default_factory=dict)  # by kind
    degraded: dict[str, int] = field(default_factory=dict)
    # Failures of kinds that do not need the killed service, and of anything sent after
    # it was back: both must be none.
    bystander_failures: list[Outcome] = field(default_factory=list)
    late_bad: list[Outcome] = field(default_factory=list)
    restarts_recorded: int = 0  # services.json's restart count afterwards

    @property
    def ok(self) -> bool:
        return (
            self.back_seconds is not None
            and not self.bystander_failures
            and not self.late_bad
        )


class Load:
    """An open-loop stream of requests at `rate` per second through the web app."""

    def __init__(self, base_url: str, model_ids: tuple[int, int], *, rate: float, seed: int = 7):
        self.base_url = base_url
        self.models = f"{model_ids[0]},{model_ids[1]}"
        self.rate = rate
        self.outcomes: list[Outcome] = []
        self._random = random.Random(seed)
        self._stop = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._runner: asyncio.Task[None] | None = None
        self._client: httpx.AsyncClient | None = None

    def _request(self) -> tuple[str, str]:
        kind = self._random.choices(KINDS, weights=[KIND_WEIGHTS[k] for k in KINDS])[0]
        user = self._random.randint(1, MOVIELENS_USERS)
        if kind == "compare":
            return kind, (f"/api/recommender/users/{user}/recommendations"
                          f"?models={self.models}&num=25")
        if kind == "catalog":
            return kind, "/api/catalog/movies/popular?limit=10"
        return kind, "/api/registry/models"

    async def _one(self, kind: str, path: str) -> None:
        assert self._client is not None
        sent = time.monotonic()
        try:
            response = await self._client.get(path)
        except httpx.HTTPError as exc:
            self.outcomes.append(Outcome(kind, sent, time.monotonic(), 0, error=repr(exc)))
            return
        degraded, error = False, ""
        if response.status_code == 200 and kind == "compare":
            errors = [b["error"] for b in response.json()["blocks"] if b.get("error")]
            degraded, error = bool(errors), "; ".join(errors)
        elif response.status_code != 200:
            error = response.text[:300]
        self.outcomes.append(
            Outcome(kind, sent, time.monotonic(), response.status_code, degraded, error)
        )

    async def _run(self) -> None:
        interval = 1.0 / self.rate
        next_at = time.monotonic()
        while not self._stop.is_set():
            task = asyncio.ensure_future(self._one(*self._request()))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            next_at += interval
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))

    async def __aenter__(self) -> Load:
        # A fresh connection per request would hide stale pooled ones; keep-alive like
        # a browser, enough connections for every request in flight.
        self._client = httpx.AsyncClient(
            base_url=self.base_url, timeout=REQUEST_TIMEOUT,
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
        )
        self._runner = asyncio.ensure_future(self._run())
        return self

    async def __aexit__(self, *_: object) -> None:
        self._stop.set()
        if self._runner is not None:
            await self._runner
        await asyncio.gather(*list(self._tasks), return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()


def read_services(state_dir: Path) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((state_dir / SERVICES_FILE).read_text())
    return dict(body["services"])


async def wait_spares(state_dir: Path, timeout: float = 180.0) -> None:
    """Until every service's warm spare is ready (a run without spares: at once)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(row.get("spare") in (None, "ready") for row in read_services(state_dir).values()):
            return
        await asyncio.sleep(0.25)
    raise TimeoutError(f"spares not ready after {timeout:.0f} s: {read_services(state_dir)}")


async def _wait_back(url: str, killed_at: float, timeout: float) -> float | None:
    """Seconds from the kill until `url`/healthz answers 200 (the new process)."""
    async with httpx.AsyncClient(timeout=1.0) as client:
        while time.monotonic() - killed_at < timeout:
            try:
                if (await client.get(url + "/healthz")).status_code == 200:
                    return time.monotonic() - killed_at
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.02)
    return None


async def _wait_running(state_dir: Path, service: str, old_pid: int, timeout: float) -> None:
    """Until services.json shows the service running again under a new pid."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = read_services(state_dir)[service]
        if row["state"] == "running" and row["pid"] not in (None, old_pid):
            return
        await asyncio.sleep(0.1)


async def kill_and_measure(
    load: Load, state_dir: Path, service: str, *, settle: float, back_timeout: float = 60.0
) -> FaultResult:
    """`kill -9` the service's process, wait until it is back, `settle` seconds more and
    until every warm spare is ready again: the next kill then finds the app as a single
    crash would, not in the middle of replacing a spare (whose imports take the CPU)."""
    row = read_services(state_dir)[service]
    pid = int(row["pid"])
    killed_at = time.monotonic()
    os.kill(pid, signal.SIGKILL)
    back = await _wait_back(row["url"], killed_at, back_timeout)
    await _wait_running(state_dir, service, pid, back_timeout)
    await asyncio.sleep(settle)
    await wait_spares(state_dir)
    result = FaultResult(service, killed_at, back, None)
    result.restarts_recorded = int(read_services(state_dir)[service]["restarts"])
    _tally(result, load.outcomes, until=time.monotonic())
    return result


def _tally(result: FaultResult, outcomes: Iterable[Outcome], *, until: float) -> None:
    back_at = result.killed_at + (result.back_seconds or float("inf"))
    last_bad = None
    for outcome in outcomes:
        if not result.killed_at <= outcome.done <= until and not (
            outcome.sent <= result.killed_at <= outcome.done
        ):
            continue
        result.requests += 1
        bad = outcome.failed or outcome.degraded
        if outcome.failed:
            result.failed[outcome.kind] = result.failed.get(outcome.kind, 0) + 1
            if result.service not in NEEDS[outcome.kind]:
                result.bystander_failures.append(outcome)
        elif outcome.degraded:
            result.degraded[outcome.kind] = result.degraded.get(outcome.kind, 0) + 1
        if bad:
            last_bad = max(last_bad or 0.0, outcome.done)
            if outcome.sent > back_at + LATE_GRACE_SECONDS:
                result.late_bad.append(outcome)
    result.whole_seconds = 0.0 if last_bad is None else last_bad - result.killed_at


def engine_inventory(state_dir: Path, engine_url: str) -> dict[str, list[str]]:
    """The ARNs the pipeline made (datasets, solution versions, campaigns, filters)."""
    import boto3

    key_id, secret = engine_credentials(state_dir / SECRETS_FILE)
    client = boto3.client("personalize", endpoint_url=engine_url, region_name="us-east-1",
                          aws_access_key_id=key_id, aws_secret_access_key=secret)
    return {
        "datasets": sorted(d["datasetArn"] for d in client.list_datasets()["datasets"]),
        "solution_versions": sorted(
            v["solutionVersionArn"] for v in client.list_solution_versions()["solutionVersions"]
        ),
        "campaigns": sorted(
            f"{c['campaignArn']} {c['status']}" for c in client.list_campaigns()["campaigns"]
        ),
        "filters": sorted(f["filterArn"] for f in client.list_filters()["Filters"]),
    }


def registry_inventory(base_url: str) -> list[str]:
    models = httpx.get(base_url + "/api/registry/models", timeout=10).json()["data"]
    return sorted(f"{m['id']} {m['name']} {m['campaign_arn']}" for m in models)


def comparison_models(base_url: str) -> tuple[int, int]:
    """The first two recommendations models: the web app's comparison view."""
    models = httpx.get(base_url + "/api/registry/models", params={"type": "recommendations"},
                       timeout=10).json()["data"]
    if len(models) < 2:
        raise RuntimeError(f"the comparison needs two recommendations models, found {models}")
    return models[0]["id"], models[1]["id"]


async def run_faults(
    base_url: str,
    state_dir: Path,
    services: Iterable[str],
    *,
    rate: float,
    settle: float,
    warmup: float = 2.0,
) -> list[FaultResult]:
    """Load the app, kill each service in turn, return one result per kill."""
    results = []
    await wait_spares(state_dir)
    async with Load(base_url, comparison_models(base_url), rate=rate) as load:
        await asyncio.sleep(warmup)
        for service in services:
            results.append(await kill_and_measure(load, state_dir, service, settle=settle))
    return results


def table(results: list[FaultResult]) -> str:
    """The figures of each kill beside the targets, one line per service."""
    lines = [
        f"{'killed':12} {'back (s)':>9} {'whole (s)':>10} {'requests':>9} "
        f"{'failed':>24} {'degraded':>12} {'others failed':>14} {'late':>5}",
    ]
    for r in results:
        back = "never" if r.back_seconds is None else f"{r.back_seconds:.2f}"
        failed = ", ".join(f"{k} {n}" for k, n in sorted(r.failed.items())) or "0"
        degraded = ", ".join(f"{k} {n}" for k, n in sorted(r.degraded.items())) or "0"
        lines.append(
            f"{r.service:12} {back:>9} {r.whole_seconds or 0.0:>10.2f} {r.requests:>9} "
            f"{failed:>24} {degraded:>12} {len(r.bystander_failures):>14} "
            f"{len(r.late_bad):>5}"
        )
    lines.append(
        f"targets: back <= {TARGET_BACK_SECONDS:g} s; failed only for kinds that need the "
        f"killed service (others failed = 0) and only before it is back "
        f"(late = 0: nothing bad sent {LATE_GRACE_SECONDS:g} s after it was back)"
    )
    return "\n".join(lines)
