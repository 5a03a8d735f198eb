"""The images' HEALTHCHECKs and docker-compose.yml's health checks, run against the services.

No container engine is needed (none runs on CI's machine): each server image's start
command (its Dockerfile's CMD, under its ENV) runs here as a process on loopback, then
every HEALTHCHECK and every compose `healthcheck.test` runs as written, with this venv's
`python`. Each must pass while its service answers and fail once nothing listens on the
port, and the compose check must probe the port the image listens on.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from services.cli.secrets import generate
from services.cli.topology import Topology
from services.common.health import package_version
from tests.deploy.test_compose import REQUIRED, _compose
from tests.deploy.test_dockerfiles import DOCKERFILES, _final_stage
from tests.utils.servers import ROOT, RunningServer, free_port, wait_ready

# Every image that runs a server (the cli image runs one-shot jobs: HEALTHCHECK NONE).
SERVERS = sorted(path.parent.name for path in DOCKERFILES if path.parent.name != "cli")
VENV_BIN = str(Path(sys.executable).parent)


@dataclass
class Image:
    """What the final stage of services/<name>/Dockerfile says about running it."""

    env: dict[str, str]
    cmd: list[str]
    healthcheck: list[str]


def _image(name: str) -> Image:
    stage = _final_stage(ROOT / "services" / name / "Dockerfile")
    env: dict[str, str] = {}
    for line in stage:
        if line.upper().startswith("ENV "):
            env.update(token.split("=", 1) for token in shlex.split(line[4:]))
    (cmd,) = [json.loads(line[4:]) for line in stage if line.upper().startswith("CMD ")]
    (check,) = [line for line in stage if line.upper().startswith("HEALTHCHECK ")]
    exec_form = re.search(r"\sCMD\s+(\[.*\])$", check)
    assert exec_form, f"{name}: HEALTHCHECK CMD in exec form (the image may have no shell)"
    return Image(env, cmd, json.loads(exec_form[1]))


def _run_check(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """A health check command as the container runs it: `python` is the image's (here: this
    venv's), found on PATH."""
    return subprocess.run(
        command, env={**os.environ, **env, "PATH": f"{VENV_BIN}:{os.environ['PATH']}"},
        capture_output=True, text=True, timeout=30, check=False,
    )


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, RunningServer]]:
    """Every server image's CMD, started with its image's ENV plus what docker-compose gives
    it (SQLite instead of PostgreSQL, loopback instead of the compose network)."""
    tmp = tmp_path_factory.mktemp("healthchecks")
    ports = {name: free_port() for name in SERVERS}
    topology = Topology(
        urls={name: f"http://127.0.0.1:{port}" for name, port in ports.items()},
        database_urls={name: f"sqlite+aiosqlite:///{tmp / name}.db"
                       for name in ("engine", "catalog", "registry")},
        artifacts_url=(tmp / "artifacts").as_uri(),
        secrets=generate(),
        environment="production",
    )
    servers: dict[str, RunningServer] = {}
    try:
        for name in SERVERS:
            image = _image(name)
            env = {key: value for key, value in image.env.items() if key != "PATH"}
            env.update(topology.env(name))
            # Container paths and every-interface binds become their loopback equivalents:
            # the test must not listen on a shared machine's public interfaces.
            env.update(PORT=str(ports[name]), HOST="127.0.0.1", FRONTEND_DIR=str(ROOT / "frontend"))
            command = [part.replace("0.0.0.0", "127.0.0.1") for part in image.cmd]
            log_path = tmp / f"{name}.log"
            with log_path.open("wb") as log:
                process = subprocess.Popen(
                    command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                    env={**os.environ, **env, "PATH": f"{VENV_BIN}:{os.environ['PATH']}"},
                )
            servers[name] = RunningServer(topology.urls[name], ports[name], process, log_path)
        for server in servers.values():
            wait_ready(server.url, server.process, server.log_path, timeout=180)
        yield servers
    finally:
        for server in servers.values():
            server.stop()


@pytest.mark.parametrize("name", SERVERS)
def test_the_images_healthcheck_passes_then_fails_when_nothing_answers(
    name: str, running: dict[str, RunningServer]
) -> None:
    command = _image(name).healthcheck
    assert command[0] == "python"
    up = _run_check(command, {"PORT": str(running[name].port)})
    assert up.returncode == 0, up.stderr
    down = _run_check(command, {"PORT": str(free_port())})
    assert down.returncode != 0 and "Connection refused" in down.stderr


@pytest.mark.parametrize("name", SERVERS)
def test_healthz_of_the_started_image_names_the_release(
    name: str, running: dict[str, RunningServer]
) -> None:
    answer = httpx.get(running[name].url + "/healthz", timeout=10)
    assert answer.json() == {"status": "ok", "version": package_version()}


@pytest.fixture(scope="module")
def compose_servers() -> dict[str, dict[str, Any]]:
    """docker-compose.yml's services built from this repository, the one-shot bootstrap aside."""
    rendered = yaml.safe_load(_compose("config", env=REQUIRED).stdout)["services"]
    return {
        name: spec for name, spec in rendered.items() if "build" in spec and name != "bootstrap"
    }


def test_compose_runs_every_server_image(compose_servers: dict[str, dict[str, Any]]) -> None:
    dockerfiles = {name: spec["build"]["dockerfile"] for name, spec in compose_servers.items()}
    assert dockerfiles == {name: f"services/{name}/Dockerfile" for name in SERVERS}


@pytest.mark.parametrize("name", SERVERS)
def test_the_compose_healthcheck_probes_the_images_port_and_passes(
    name: str, running: dict[str, RunningServer], compose_servers: dict[str, dict[str, Any]]
) -> None:
    """Compose's check runs inside the container on a port written into it: it must be the
    port the image's server listens on."""
    kind, *command = compose_servers[name]["healthcheck"]["test"]
    assert kind == "CMD" and command[0] == "python"
    image_port = _image(name).env["PORT"]
    assert compose_servers[name].get("environment", {}).get("PORT", image_port) == image_port
    probed = re.findall(r"http://127\.0\.0\.1:(\d+)/", " ".join(command))
    assert probed == [image_port]

    def on_port(port: int) -> list[str]:
        return [part.replace(f"127.0.0.1:{image_port}/", f"127.0.0.1:{port}/") for part in command]

    up = _run_check(on_port(running[name].port), {})
    assert up.returncode == 0, up.stderr
    down = _run_check(on_port(free_port()), {})
    assert down.returncode != 0 and "Connection refused" in down.stderr
