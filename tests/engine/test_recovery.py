"""Restarts: ACTIVE campaigns serve the same answers; interrupted training is CREATE FAILED."""

from __future__ import annotations

import os
import resource
import signal
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.engine.conftest import ENGINE_APP, engine_env
from tests.engine.helpers import (
    boto_clients,
    create_group,
    deploy_many,
    recipe_arn,
    synthetic_interactions,
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


def _cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def _training_worker(engine_pid: int, timeout: float = 60) -> int:
    """The pool process that is training (a child of the engine using CPU; not the
    multiprocessing resource tracker)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for pid in alive(children(engine_pid)):
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
                before = _cpu_ticks(pid)
            except OSError:
                continue
            if b"spawn_main" not in cmdline:
                continue
            time.sleep(0.3)
            if _cpu_ticks(pid) > before:
                return pid
        time.sleep(0.2)
    raise AssertionError("no training worker process was busy")


def test_a_training_worker_killed_alone_fails_its_version_and_the_pool_recovers(
    tmp_path: Path,
) -> None:
    """kill -9 of the worker process mid-training (the engine itself stays up): the version
    is CREATE FAILED saying so, the campaigns keep answering, and the next training runs in
    a new worker."""
    env = engine_env(
        f"sqlite:///{tmp_path / 'engine.db'}", f"file://{tmp_path / 'art'}",
        IMPORT_ROOTS=str(tmp_path),
    )
    with run_server(ENGINE_APP, env=env, log_dir=tmp_path) as server:
        p = boto_clients(server.url).personalize
        group = create_group(p, tmp_path, rows=synthetic_interactions(n_users=300, per_user=40))
        served = deploy_many(p, train_many(p, group["group"], ["aws-popularity-count"]))
        solution = p.create_solution(
            name=unique("long"),
            datasetGroupArn=group["group"],
            recipeArn=recipe_arn("aws-hrnn"),
            solutionConfig={"algorithmHyperParameters": {"epochs": "200"}},
        )["solutionArn"]
        wait_for(p.describe_solution, "solution", solutionArn=solution)
        version = p.create_solution_version(solutionArn=solution)["solutionVersionArn"]
        worker = _training_worker(server.process.pid)
        os.kill(worker, signal.SIGKILL)
        failed = wait_for(
            p.describe_solution_version, "solutionVersion", solutionVersionArn=version
        )
        assert failed["status"] == "CREATE FAILED", failed
        assert "training worker process died" in failed["failureReason"], failed
        assert server.process.poll() is None  # the engine itself kept running
        runtime = boto_clients(server.url).runtime
        answer = runtime.get_recommendations(
            campaignArn=served["aws-popularity-count"], userId="u1", numResults=5
        )
        assert len(answer["itemList"]) == 5
        # A new worker takes the next job.
        assert train_many(p, group["group"], ["aws-popularity-count"])


def _file_size_limit(limit: int) -> Callable[[], None]:
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def test_a_model_that_cannot_be_written_fails_its_version_and_leaves_nothing(
    tmp_path: Path,
) -> None:
    """A full artifact disk, as a 1 MB file-size limit on the engine and its worker (a
    write past it fails, as on a full disk; CPython ignores SIGXFSZ): the version is
    CREATE FAILED naming the write, no staging or model files stay, the engine serves on."""
    artifacts = tmp_path / "art"
    env = engine_env(
        f"sqlite:///{tmp_path / 'engine.db'}", f"file://{artifacts}", IMPORT_ROOTS=str(tmp_path)
    )
    with run_server(
        ENGINE_APP, env=env, log_dir=tmp_path, preexec_fn=_file_size_limit(1 << 20)
    ) as server:
        p = boto_clients(server.url).personalize
        # 1,500 items: user-personalization's item matrix is ~9 MB, the rest stays small.
        rows = synthetic_interactions(n_users=200, n_items=1500, per_user=30)
        group = create_group(p, tmp_path, rows=rows)
        served = deploy_many(p, train_many(p, group["group"], ["aws-popularity-count"]))
        solution = p.create_solution(
            name=unique("big"),
            datasetGroupArn=group["group"],
            recipeArn=recipe_arn("aws-user-personalization"),
        )["solutionArn"]
        wait_for(p.describe_solution, "solution", solutionArn=solution)
        version = p.create_solution_version(solutionArn=solution)["solutionVersionArn"]
        failed = wait_for(
            p.describe_solution_version, "solutionVersion", solutionVersionArn=version
        )
        assert failed["status"] == "CREATE FAILED", failed
        assert (
            "the model could not be written to the artifact store: File too large"
            in failed["failureReason"]
        ), failed
        assert list((artifacts / ".staging").iterdir()) == []
        assert not list(artifacts.glob(f"solution-versions/*/{version.rsplit('/', 1)[1]}"))
        answer = boto_clients(server.url).runtime.get_recommendations(
            campaignArn=served["aws-popularity-count"], userId="u1", numResults=5
        )
        assert len(answer["itemList"]) == 5


def test_a_locked_sqlite_database_answers_503_saying_so(tmp_path: Path) -> None:
    """Another process holds SQLite's write lock: a write waits the busy timeout
    (`?timeout=` in DATABASE_URL, 1 s here), then answers 503 naming the lock, never 500;
    once the lock is gone the same call succeeds."""
    db = tmp_path / "engine.db"
    env = engine_env(f"sqlite:///{db}?timeout=1", f"file://{tmp_path / 'art'}")
    with run_server(ENGINE_APP, env=env, log_dir=tmp_path) as server:
        p = boto_clients(server.url).personalize
        p.list_dataset_groups()
        holder = sqlite3.connect(db, isolation_level=None)
        try:
            holder.execute("BEGIN EXCLUSIVE")
            with pytest.raises(ClientError) as refused:
                p.create_dataset_group(name=unique("locked"))
            error = refused.value.response
            assert error["ResponseMetadata"]["HTTPStatusCode"] == 503, error
            assert "locked by another writer" in error["Error"]["Message"], error
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert p.create_dataset_group(name=unique("unlocked"))["datasetGroupArn"]
