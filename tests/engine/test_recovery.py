"""Restarts: ACTIVE campaigns serve the same answers; interrupted training is CREATE FAILED."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

import pytest

from tests.engine.conftest import ENGINE_APP, engine_env
from tests.engine.helpers import (
    boto_clients,
    create_group,
    deploy_many,
    recipe_arn,
    train_many,
    unique,
    wait_for,
)
from tests.utils.servers import free_port, run_server


def children(pid: int) -> set[int]:
    """The live child processes of `pid` (Linux /proc)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # ended meanwhile
            continue
        if fields[1] == str(pid):
            found.add(int(stat.parent.name))
    return found


def alive(pids: set[int]) -> set[int]:
    living = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":  # a zombie has exited; only its parent's wait() is missing
            living.add(pid)
    return living


def _answers(clients: Any, campaigns: dict[str, str]) -> dict[str, Any]:
    rt = clients.runtime
    return {
        "sims": rt.get_recommendations(campaignArn=campaigns["sims"], itemId="i3", numResults=10)[
            "itemList"
        ],
        "user": rt.get_recommendations(campaignArn=campaigns["user"], userId="u2", numResults=10)[
            "itemList"
        ],
    }


@pytest.mark.parametrize("kill", [signal.SIGTERM, signal.SIGKILL], ids=["restart", "kill-9"])
def test_campaigns_survive_restart(
    tmp_path: Path, moto_server: str, s3: Any, kill: signal.Signals
) -> None:
    artifacts = (
        f"s3://engine-tests/{unique('artifacts')}"
        if kill == signal.SIGKILL
        else f"file://{tmp_path / 'art'}"
    )
    # Steps of 0.2 s: long enough to kill the engine while the new version is still pending.
    env = engine_env(
        f"sqlite:///{tmp_path / 'engine.db'}", artifacts, moto_server, IMPORT_ROOTS=str(tmp_path)
    )
    port = free_port()
    with run_server(ENGINE_APP, env=env, log_dir=tmp_path, port=port) as server:
        clients = boto_clients(server.url)
        p = clients.personalize
        group = create_group(p, tmp_path)
        versions = train_many(p, group["group"], ["aws-sims", "aws-user-personalization"])
        campaigns = deploy_many(
            p,
            {
                "sims": versions["aws-sims"],
                "user": versions["aws-user-personalization"],
            },
        )
        before = _answers(clients, campaigns)
        solution = p.create_solution(
            name=unique("late"), datasetGroupArn=group["group"], recipeArn=recipe_arn("aws-sims")
        )["solutionArn"]
        wait_for(p.describe_solution, "solution", solutionArn=solution)
        version = p.create_solution_version(solutionArn=solution)["solutionVersionArn"]
        # Still CREATE PENDING: the status steps take STATUS_STEP_SECONDS; training is next.
        assert p.describe_solution_version(solutionVersionArn=version)["solutionVersion"][
            "status"
        ].startswith("CREATE")
        helpers = children(server.process.pid)  # the training worker (and its tracker)
        assert helpers
        server.stop(kill)
    # Even after kill -9, the engine's helper processes do not outlive it.
    deadline = time.monotonic() + 10
    while alive(helpers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not alive(helpers)
    with run_server(ENGINE_APP, env=env, log_dir=tmp_path, port=port) as server:
        clients = boto_clients(server.url)
        assert _answers(clients, campaigns) == before
        failed = clients.personalize.describe_solution_version(solutionVersionArn=version)[
            "solutionVersion"
        ]
        assert failed["status"] == "CREATE FAILED"
        assert "restarted while this solution version was training" in failed["failureReason"]
