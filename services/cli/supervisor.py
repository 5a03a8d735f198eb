"""Child processes for the embedded run: one uvicorn per service on loopback.

Children get their own session so a Ctrl-C in the terminal reaches only `videorecs up`,
which then stops them in order (SIGTERM, wait, SIGKILL after a grace period): uvicorn
treats a second signal as "exit now", so the parent must be the only one sending.

Once the app is up, `Supervisor` restarts a child that exits without being asked to:
after 0.5 s, doubling to 10 s for each exit in a row, back to 0.5 s once a child has
stayed up a minute. Five exits within a minute mean it will not come back by itself:
then it gives up, naming the service, its exit and its log's last lines, and the app
stops. What it does is written to `services.json` in the state folder, which
`videorecs status` reads.
"""

from __future__ import annotations

import asyncio
import collections
import datetime
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

STOP_GRACE_SECONDS = 10.0
# uvicorn options of one service. The frontend faces browsers: on uvloop, a flood of
# busy keep-alive connections starved new ones (hundreds waited seconds in the accept
# queue, so even /healthz timed out), while asyncio's loop kept answering them in
# ~0.2 s; the frontend does little CPU work per request, so it loses nothing by it.
SERVICE_ARGS = {"frontend": ["--loop", "asyncio"]}


class ChildFailed(RuntimeError):
    pass


def tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return ""


def describe_exit(code: int) -> str:
    """`code 3`, or `killed by SIGKILL` for Popen's negative signal numbers."""
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


@dataclass
class Child:
    name: str
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def check_alive(self) -> None:
        code = self.process.poll()
        if code is not None:
            raise ChildFailed(
                f"{self.name} exited with code {code}; last lines of {self.log_path}:\n"
                f"{tail(self.log_path)}"
            )


def spawn(
    name: str, app: str, *, host: str, port: int, env: dict[str, str], log_dir: Path
) -> Child:
    """Start `uvicorn app` with `env` on top of this process's environment."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}.log"
    cmd = [sys.executable, "-m", "uvicorn", *_uvicorn_args(name, app, host, port)]
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            cmd,
            env={**os.environ, **env},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Child(name, f"http://{host}:{port}", process, log_path)


def _uvicorn_args(name: str, app: str, host: str, port: int) -> list[str]:
    # Which proxies' X-Forwarded-For to believe comes from FORWARDED_ALLOW_IPS in `env`
    # (services/cli/topology.py): loopback for the APIs behind the frontend, nobody else.
    return [app, "--host", host, "--port", str(port), "--proxy-headers",
            "--timeout-graceful-shutdown", "5", *SERVICE_ARGS.get(name, [])]


def spawn_standby(
    name: str, app: str, *, host: str, port: int, env: dict[str, str], log_dir: Path
) -> Child:
    """A warm spare of the service (services/cli/standby.py): it imports the app, prints
    `ready`, and serves once it reads `go` on stdin."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}.log"
    cmd = [sys.executable, "-m", "services.cli.standby", "--log", str(log_path),
           *_uvicorn_args(name, app, host, port)]
    process = subprocess.Popen(
        cmd,
        env={**os.environ, **env},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,  # the spare sends its own stderr to the log
        start_new_session=True,
    )
    return Child(name, f"http://{host}:{port}", process, log_path)


async def wait_ready(
    child: Child,
    *,
    timeout: float = 180.0,
    path: str = "/healthz",
    others: Sequence[Child] = (),
) -> None:
    """Poll `path` until it answers 200; fail fast if the child (or another) exits."""
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=2.0) as client:
        while True:
            for each in (child, *others):
                each.check_alive()
            try:
                if (await client.get(child.url + path)).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise ChildFailed(
                    f"{child.name} not ready after {timeout:.0f}s; last lines of "
                    f"{child.log_path}:\n{tail(child.log_path)}"
                )
            await asyncio.sleep(0.1)


def stop_all(children: list[Child], grace: float = STOP_GRACE_SECONDS) -> None:
    """SIGTERM every child, wait up to `grace` seconds in total, then SIGKILL the rest."""
    for child in children:
        if child.process.poll() is None:
            child.process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for child in children:
        try:
            child.process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.process.kill()
            child.process.wait()


# The restart policy of the embedded run (see the module docstring).
RESTART_FIRST_DELAY = 0.5
RESTART_MAX_DELAY = 10.0
RESTART_RESET_AFTER = 60.0  # up this long: the next exit waits the first delay again
GIVE_UP_EXITS = 5
GIVE_UP_WINDOW = 60.0
RESTART_READY_TIMEOUT = 120.0
# A used spare is replaced this long after the restart, so its imports do not compete for
# the CPU with the service starting (it answers again within 1-2 s).
SPARE_REFILL_DELAY = 2.0
SPARE_READY_TIMEOUT = 180.0
POLL_SECONDS = 0.1  # how soon an exit is noticed (a waitpid per child)
SERVICES_FILE = "services.json"


def _utc_now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


@dataclass
class RestartPolicy:
    first_delay: float = RESTART_FIRST_DELAY
    max_delay: float = RESTART_MAX_DELAY
    reset_after: float = RESTART_RESET_AFTER
    give_up_exits: int = GIVE_UP_EXITS
    give_up_window: float = GIVE_UP_WINDOW

    def delay(self, exits_in_a_row: int) -> float:
        """0.5 s before the first restart of a series, then 1, 2, 4, 8, 10, 10..."""
        return min(self.max_delay, self.first_delay * 2 ** max(0, exits_in_a_row - 1))


@dataclass
class ServiceRecord:
    """One child as `videorecs status` shows it (an entry of services.json)."""

    url: str
    pid: int | None = None
    state: str = "starting"  # starting, running, restarting, failed, stopped
    started_at: str | None = None
    restarts: int = 0
    last_exit: str | None = None  # "killed by SIGKILL", "exit code 1"
    last_exit_code: int | None = None
    last_exit_at: str | None = None
    # The warm spare a restart uses (services/cli/standby.py): None, waiting (its turn to
    # start), starting (importing) or ready.
    spare: str | None = None


@dataclass
class _Track:
    started: float = 0.0  # monotonic time of the current process's spawn
    in_a_row: int = 0  # exits since the child last stayed up RESTART_RESET_AFTER
    exits: collections.deque[float] = field(default_factory=collections.deque)


class Supervisor:
    """The children of one run: spawned through it, restarted by it, recorded in a file."""

    def __init__(
        self,
        spawner: Callable[[str], Child],
        *,
        spare_spawner: Callable[[str], Child] | None = None,
        status_file: Path | None = None,
        report: Callable[[str], None] = print,
        policy: RestartPolicy | None = None,
    ) -> None:
        self._spawner = spawner
        self._spare_spawner = spare_spawner
        self.spares: dict[str, Child] = {}
        self._background: set[asyncio.Task[None]] = set()
        self.status_file = status_file
        self.report = report
        self.policy = policy or RestartPolicy()
        self.children: dict[str, Child] = {}
        self.records: dict[str, ServiceRecord] = {}
        self._tracks: dict[str, _Track] = {}
        self._restarting: dict[str, asyncio.Task[None]] = {}
        self._stopping = False  # set by cancel_restarts: start nothing more

    def spawn(self, name: str) -> Child:
        return self._adopt(name, self._spawner(name))

    def _adopt(self, name: str, child: Child) -> Child:
        self.children[name] = child
        record = self.records.setdefault(name, ServiceRecord(url=child.url))
        record.pid = child.process.pid
        record.started_at = _utc_now()
        self._tracks.setdefault(name, _Track()).started = time.monotonic()
        self.write()
        return child

    def set_state(self, name: str, state: str) -> None:
        self.records[name].state = state
        self.write()

    def forget(self, name: str) -> None:
        """A child stopped on purpose during start-up (the recommender, re-configured)."""
        self.children.pop(name, None)

    def write(self) -> None:
        """services.json, replaced whole so a reader never sees half of it."""
        if self.status_file is None:
            return
        body = {
            "pid": os.getpid(),
            "updated_at": _utc_now(),
            "services": {name: asdict(record) for name, record in self.records.items()},
        }
        partial = self.status_file.with_name(self.status_file.name + ".tmp")
        partial.write_text(json.dumps(body, indent=2))
        os.replace(partial, self.status_file)

    async def watch(self, stop: asyncio.Event) -> None:
        """Restart children that exit until `stop` is set; raise ChildFailed on giving up."""
        while not stop.is_set():
            self.poll()
            try:
                await asyncio.wait_for(stop.wait(), timeout=POLL_SECONDS)
            except TimeoutError:
                pass

    def poll(self) -> None:
        for name, child in list(self.children.items()):
            if name in self._restarting:
                continue  # its restart task waits for (or on) the new process
            code = child.process.poll()
            if code is not None:
                self._exited(name, child, code)

    def _exited(self, name: str, child: Child, code: int) -> None:
        now = time.monotonic()
        track, record, policy = self._tracks[name], self.records[name], self.policy
        up_for = now - track.started
        if up_for >= policy.reset_after:
            track.in_a_row = 0
        track.in_a_row += 1
        track.exits.append(now)
        while track.exits and track.exits[0] < now - policy.give_up_window:
            track.exits.popleft()
        how = describe_exit(code)
        record.last_exit, record.last_exit_code, record.last_exit_at = how, code, _utc_now()
        record.pid = None
        if len(track.exits) >= policy.give_up_exits:
            record.state = "failed"
            self.write()
            raise ChildFailed(
                f"{name} exited {len(track.exits)} times within {policy.give_up_window:.0f} s "
                f"(last: {how} after {up_for:.1f} s up); not restarting it again. Last lines "
                f"of {child.log_path}:\n{tail(child.log_path)}"
            )
        delay = policy.delay(track.in_a_row)
        record.state = "restarting"
        self.write()
        self.report(
            f"{name} exited ({how} after {up_for:.1f} s up); restarting it in {delay:g} s "
            f"(restart {record.restarts + 1})"
        )
        self._restarting[name] = asyncio.ensure_future(self._restart(name, delay))

    async def _restart(self, name: str, delay: float) -> None:
        try:
            await asyncio.sleep(delay)
            self.records[name].restarts += 1
            spare = self._take_spare(name)
            child = self._adopt(name, spare) if spare else self.spawn(name)
            began = time.monotonic()
            try:
                await wait_ready(child, timeout=RESTART_READY_TIMEOUT)
            except ChildFailed:
                # Exited again, or never healthy: the next poll counts it as an exit.
                if child.process.poll() is None:
                    child.process.kill()
                    await asyncio.to_thread(child.process.wait)
                return
            self.set_state(name, "running")
            self.report(
                f"{name} is back (pid {child.process.pid}{', a warm spare' if spare else ''}), "
                f"healthy {time.monotonic() - began:.1f} s after its restart"
            )
        finally:
            self._restarting.pop(name, None)
            if self._spare_spawner is not None and name not in self.spares and not self._stopping:
                self.records[name].spare = "waiting"
                self.write()
                self._in_background(self._refill(name, SPARE_REFILL_DELAY))

    def _take_spare(self, name: str) -> Child | None:
        """The service's spare, told to serve; None if there is none alive."""
        spare = self.spares.pop(name, None)
        self.records[name].spare = None
        if spare is None or spare.process.poll() is not None or spare.process.stdin is None:
            return None
        try:
            spare.process.stdin.write(b"go\n")
            spare.process.stdin.close()
        except OSError:
            return None
        return spare

    def _in_background(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def keep_spares(self) -> None:
        """Start a warm spare of every service, one after another (each imports its app:
        all at once would take the CPU from the app just started)."""
        if self._spare_spawner is None:
            return

        async def all_in_turn() -> None:
            for name in list(self.records):
                await self._refill(name, 0.0)

        for record in self.records.values():
            record.spare = "waiting"
        self.write()
        self._in_background(all_in_turn())

    async def _refill(self, name: str, delay: float) -> None:
        assert self._spare_spawner is not None
        await asyncio.sleep(delay)
        if name in self.spares:
            return
        if self.records[name].state == "failed":
            self.records[name].spare = None
            return
        spare = self._spare_spawner(name)
        self.spares[name] = spare
        self.records[name].spare = "starting"
        self.write()
        assert spare.process.stdout is not None
        try:
            line = await asyncio.wait_for(
                asyncio.to_thread(spare.process.stdout.readline), SPARE_READY_TIMEOUT
            )
        except TimeoutError:
            line = b""
        if self.spares.get(name) is not spare:
            return  # used meanwhile by a restart
        if line.strip() == b"ready":
            self.records[name].spare = "ready"
        else:  # a spare that cannot import its app: restarts start cold
            self.spares.pop(name, None)
            self.records[name].spare = None
            spare.process.kill()
            self.report(f"{name}: no warm spare (it did not start; see {spare.log_path})")
        self.write()

    async def cancel_restarts(self) -> None:
        """Before stopping: no restart may start a child after the others were stopped."""
        self._stopping = True
        tasks = [*self._restarting.values(), *self._background]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def stop_all(self, grace: float = STOP_GRACE_SECONDS) -> None:
        for spare in self.spares.values():
            if spare.process.stdin is not None:
                spare.process.stdin.close()  # end of input: a waiting spare exits
        stop_all([*self.children.values(), *self.spares.values()], grace)
        self.spares.clear()
        for name, record in self.records.items():
            if record.state != "failed":
                record.state = "stopped"
            record.pid = None
            record.spare = None
            self.children.pop(name, None)
        self.write()
