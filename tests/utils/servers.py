"""Run a service as a real uvicorn process on loopback, for integration tests."""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import httpx

from services.cli.ports import free_port

ROOT = Path(__file__).resolve().parents[2]


def raw_get(base_url: str, target: str, headers: dict[str, str] | None = None) -> httpx.Response:
    """GET `target` exactly as written (httpx would normalise escapes and dot segments)."""
    host, port = urlparse(base_url).netloc.split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.request("GET", target, headers=headers or {})
        answer = connection.getresponse()
        return httpx.Response(answer.status, headers=answer.getheaders(), content=answer.read())
    finally:
        connection.close()


@dataclass
class RunningServer:
    url: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: int | None = None) -> None:
        if self.process.poll() is None:
            if sig is None:
                self.process.terminate()
            else:
                self.process.send_signal(sig)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def wait_ready(url: str, process: subprocess.Popen[bytes], log_path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{log_path.read_text()}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server at {url} not ready after {timeout}s:\n{log_path.read_text()}")


@contextmanager
def run_server(
    app: str,
    *,
    env: dict[str, str],
    log_dir: Path,
    port: int | None = None,
    timeout: float = 60,
    factory: bool = False,
    preexec_fn: Callable[[], None] | None = None,
) -> Iterator[RunningServer]:
    """Start `uvicorn app` with `env` added to the environment; stop it on exit.
    `preexec_fn` runs in the child before uvicorn (to set a resource limit, say)."""
    port = port or free_port()
    log_path = log_dir / f"{app.replace(':', '_').replace('.', '_')}_{port}.log"
    cmd = [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port)]
    if factory:
        cmd.append("--factory")
    full_env = {**os.environ, **env}
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            cmd, cwd=ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT,
            preexec_fn=preexec_fn,
        )
    server = RunningServer(f"http://127.0.0.1:{port}", port, process, log_path)
    try:
        wait_ready(server.url, process, log_path, timeout)
        yield server
    finally:
        server.stop()
