"""Child processes for the embedded run: one uvicorn per service on loopback.

Children get their own session so a Ctrl-C in the terminal reaches only `videorecs up`,
which then stops them in order (SIGTERM, wait, SIGKILL after a grace period): uvicorn
treats a second signal as "exit now", so the parent must be the only one sending.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

STOP_GRACE_SECONDS = 10.0
# uvicorn options of one service. The frontend faces browsers: on uvloop, a flood of
# busy keep-alive connections starved new ones (hundreds waited seconds in the accept
# queue, so even /healthz timed out), while asyncio's loop kept answering them in
# ~0.2 s; the frontend does little CPU work per request, so it loses nothing by it.
SERVICE_ARGS = {"frontend": ["--loop", "asyncio"]}


class ChildFailed(RuntimeError):
    pass


def port_in_use(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return ""


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
    # Which proxies' X-Forwarded-For to believe comes from FORWARDED_ALLOW_IPS in `env`
    # (services/cli/topology.py): loopback for the APIs behind the frontend, nobody else.
    cmd = [sys.executable, "-m", "uvicorn", app, "--host", host, "--port", str(port),
           "--proxy-headers", "--timeout-graceful-shutdown", "5", *SERVICE_ARGS.get(name, [])]
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
