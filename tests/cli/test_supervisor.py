"""The restart policy of `videorecs up` (services/cli/supervisor.py) on small real
processes: a crash is restarted after a backoff and recorded in services.json; a service
that keeps exiting is given up on, naming it and why."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from services.cli.ports import free_port_block
from services.cli.supervisor import (
    SERVICES_FILE,
    Child,
    ChildFailed,
    RestartPolicy,
    Supervisor,
)

# A stand-in service: answers 200 to any GET (wait_ready polls /healthz).
SERVER = """
import http.server, sys
class Ok(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.end_headers(); self.wfile.write(b"ok")
    def log_message(self, *args): pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Ok).serve_forever()
"""
CRASH = "print('boom: no database'); raise SystemExit(3)"


def _spawner(log: Path, script: str, port: int) -> Callable[[str], Child]:
    def spawn(name: str) -> Child:
        with log.open("ab") as out:
            process = subprocess.Popen([sys.executable, "-c", script, str(port)],
                                       stdout=out, stderr=subprocess.STDOUT)
        return Child(name, f"http://127.0.0.1:{port}", process, log)

    return spawn


def test_restart_delays_double_from_half_a_second_to_ten() -> None:
    policy = RestartPolicy()
    assert [policy.delay(n) for n in range(1, 8)] == [0.5, 1, 2, 4, 8, 10, 10]


def test_a_killed_service_is_restarted_and_recorded(tmp_path: Path) -> None:
    lines: list[str] = []
    status = tmp_path / SERVICES_FILE
    spawn = _spawner(tmp_path / "web.log", SERVER, free_port_block(count=1))
    supervisor = Supervisor(spawn, status_file=status, report=lines.append)

    async def scenario() -> None:
        first = supervisor.spawn("web")
        stop = asyncio.Event()
        watching = asyncio.ensure_future(supervisor.watch(stop))
        os.kill(first.process.pid, signal.SIGKILL)
        while not any("is back" in line for line in lines):
            await asyncio.sleep(0.05)
        stop.set()
        await watching
        await supervisor.cancel_restarts()

    asyncio.run(asyncio.wait_for(scenario(), timeout=30))
    assert re.fullmatch(r"web exited \(killed by SIGKILL after [\d.]+ s up\); restarting it "
                        r"in 0\.5 s \(restart 1\)", lines[0]), lines
    row = json.loads(status.read_text())["services"]["web"]
    assert (row["state"], row["restarts"], row["last_exit"]) == ("running", 1, "killed by SIGKILL")
    assert row["pid"] == supervisor.children["web"].process.pid
    supervisor.stop_all()
    row = json.loads(status.read_text())["services"]["web"]
    assert (row["state"], row["pid"]) == ("stopped", None)


def _give_up(tmp_path: Path, policy: RestartPolicy) -> tuple[str, list[str], dict[str, object]]:
    """Run a service that always exits with code 3 until the supervisor gives up."""
    lines: list[str] = []
    status = tmp_path / SERVICES_FILE
    supervisor = Supervisor(_spawner(tmp_path / "crashy.log", CRASH, free_port_block(count=1)),
                            status_file=status, report=lines.append, policy=policy)
    supervisor.spawn("crashy")
    with pytest.raises(ChildFailed) as failed:
        asyncio.run(asyncio.wait_for(supervisor.watch(asyncio.Event()), timeout=60))
    return str(failed.value), lines, json.loads(status.read_text())["services"]["crashy"]


def test_a_service_that_keeps_exiting_is_given_up_on_naming_it(tmp_path: Path) -> None:
    """Five exits within a minute: the supervisor stops restarting and says which and why
    (the app then stops); each restart before that is recorded, each wait doubled."""
    message, lines, row = _give_up(tmp_path, RestartPolicy(first_delay=0.01, max_delay=0.05))
    assert message.startswith("crashy exited 5 times within 60 s (last: exit code 3")
    assert "boom: no database" in message
    delays = re.findall(r"restarting it in ([\d.]+) s", "\n".join(lines))
    assert delays == ["0.01", "0.02", "0.04", "0.05"]
    assert (row["state"], row["restarts"], row["last_exit_code"]) == ("failed", 4, 3)


def test_the_backoff_starts_over_after_a_long_enough_run(tmp_path: Path) -> None:
    """A service that stayed up `reset_after` seconds waits the first delay again."""
    _, lines, _ = _give_up(tmp_path, RestartPolicy(first_delay=0.01, reset_after=0.0))
    assert all("restarting it in 0.01 s" in line for line in lines) and len(lines) == 4
