"""Two engine replicas sharing one PostgreSQL database and one S3 bucket (moto's server):
both serve the same campaigns, a job started through either runs exactly once, and the
work of a replica that stops answering is failed by the other once its lease expires."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.engine.conftest import ENGINE_APP, engine_env
from tests.engine.helpers import (
    boto_clients,
    deploy,
    interactions_csv,
    new_dataset,
    synthetic_interactions,
    train,
    unique,
    wait_for,
)
from tests.utils.databases import new_database_url
from tests.utils.servers import RunningServer, run_server

pytestmark = pytest.mark.postgres
BUCKET = "engine-tests"
LEASE = 3.0  # seconds; the sweep runs every third of it


@pytest.fixture
def replicas(tmp_path: Path, moto_server: str, s3: Any) -> Iterator[list[RunningServer]]:
    database = asyncio.run(new_database_url("postgres", tmp_path))
    env = engine_env(
        database,
        f"s3://{BUCKET}/{unique('replicas')}",
        moto_server,
        # Half a second between CREATE IN_PROGRESS and the work: time to freeze a replica
        # that holds a job's lease before it starts the work.
        STATUS_STEP_SECONDS="0.5",
        LEASE_SECONDS=str(LEASE),
    )
    with ExitStack() as stack:
        servers = []
        for name in ("a", "b"):
            folder = tmp_path / name
            folder.mkdir()
            # Each replica keeps its own local cache of what it fetched from S3.
            replica_env = {**env, "ARTIFACTS_CACHE_DIR": str(folder / "cache")}
            servers.append(stack.enter_context(
                run_server(ENGINE_APP, env=replica_env, log_dir=folder)
            ))
        yield servers


def _metric(server: RunningServer, name: str) -> float:
    text = httpx.get(f"{server.url}/metrics", timeout=10).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(name + "{") and 'status="ACTIVE"' in line
    )


def _upload(s3: Any, rows: list[tuple[str, str, int]]) -> str:
    key = f"{unique('data')}.csv"
    s3.put_object(Bucket=BUCKET, Key=key, Body=interactions_csv(rows).encode())
    return f"s3://{BUCKET}/{key}"


def _import_synthetic(p: Any, s3: Any, dataset: str) -> None:
    job = p.create_dataset_import_job(
        jobName=unique("job"),
        datasetArn=dataset,
        dataSource={"dataLocation": _upload(s3, synthetic_interactions())},
    )["datasetImportJobArn"]
    described = wait_for(p.describe_dataset_import_job, "datasetImportJob", datasetImportJobArn=job)
    assert described["status"] == "ACTIVE"


def test_both_replicas_serve_and_each_job_runs_once(
    replicas: list[RunningServer], s3: Any
) -> None:
    a, b = (boto_clients(server.url) for server in replicas)
    group, dataset = new_dataset(a.personalize)
    job = b.personalize.create_dataset_import_job(
        jobName=unique("job"),
        datasetArn=dataset,
        dataSource={"dataLocation": _upload(s3, synthetic_interactions())},
    )["datasetImportJobArn"]
    described = wait_for(
        a.personalize.describe_dataset_import_job, "datasetImportJob", datasetImportJobArn=job
    )
    assert described["status"] == "ACTIVE"
    # Trained through B, deployed through A: one training in all, in one of them.
    version = train(b.personalize, group, "aws-user-personalization")
    campaign = deploy(a.personalize, version)
    trainings = [_metric(s, "engine_trainings_total") for s in replicas]
    assert sorted(trainings) == [0.0, 1.0]
    answers = [
        c.runtime.get_recommendations(campaignArn=campaign, userId="u3", numResults=10)["itemList"]
        for c in (a, b)
    ]
    assert answers[0] == answers[1] and len(answers[0]) == 10


def test_a_frozen_replicas_import_is_failed_by_the_other(
    replicas: list[RunningServer], s3: Any
) -> None:
    """SIGSTOP freezes replica A while it holds an import's lease (it stops renewing it, as
    a replica on a lost host would); once the lease expires, B fails the job and the
    dataset keeps the rows it had."""
    server_a, server_b = replicas
    a, b = boto_clients(server_a.url), boto_clients(server_b.url)
    group, dataset = new_dataset(a.personalize)
    _import_synthetic(a.personalize, s3, dataset)
    flood = [(f"u{k % 60 + 1}", "i50", 2_000_000_000 + k) for k in range(1500)]
    job = a.personalize.create_dataset_import_job(
        jobName=unique("job"), datasetArn=dataset, dataSource={"dataLocation": _upload(s3, flood)}
    )["datasetImportJobArn"]
    deadline = time.monotonic() + 30
    while b.personalize.describe_dataset_import_job(datasetImportJobArn=job)[
        "datasetImportJob"
    ]["status"] != "CREATE IN_PROGRESS":
        assert time.monotonic() < deadline
        time.sleep(0.01)
    server_a.process.send_signal(signal.SIGSTOP)  # before its work starts (0.5 s step)
    try:
        stopped = time.monotonic()
        failed = wait_for(
            b.personalize.describe_dataset_import_job,
            "datasetImportJob",
            timeout=LEASE * 4 + 10,
            datasetImportJobArn=job,
        )
        took = time.monotonic() - stopped
        assert failed["status"] == "CREATE FAILED"
        assert "restarted during the import" in failed["failureReason"]
        assert took >= LEASE * 0.5  # not before the lease could have expired
        # The dataset still answers with the first import's rows, through B.
        campaign = deploy(b.personalize, train(b.personalize, group, "aws-popularity-count"))
        top = b.runtime.get_recommendations(campaignArn=campaign, userId="u1", numResults=1)
        assert top["itemList"] in ([{"itemId": "i1"}], [{"itemId": "i2"}])
    finally:
        server_a.process.send_signal(signal.SIGKILL)
        server_a.process.send_signal(signal.SIGCONT)



def test_events_sent_to_one_replica_reach_the_others_histories(
    replicas: list[RunningServer], s3: Any
) -> None:
    a, b = (boto_clients(server.url) for server in replicas)
    group, dataset = new_dataset(a.personalize)
    _import_synthetic(a.personalize, s3, dataset)
    campaign = deploy(a.personalize, train(a.personalize, group, "aws-popularity-count"))
    unseen = a.personalize.create_filter(
        name=unique("f"),
        datasetGroupArn=group,
        filterExpression='EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("*")',
    )["filterArn"]
    wait_for(a.personalize.describe_filter, "filter", filterArn=unseen)
    tracker = a.personalize.create_event_tracker(name=unique("t"), datasetGroupArn=group)
    wait_for(
        a.personalize.describe_event_tracker,
        "eventTracker",
        eventTrackerArn=tracker["eventTrackerArn"],
    )

    def listed(clients: Any) -> set[str]:
        items = clients.runtime.get_recommendations(
            campaignArn=campaign, userId="viewer", numResults=50, filterArn=unseen
        )["itemList"]
        return {i["itemId"] for i in items}

    assert listed(a) == listed(b) == {f"i{k}" for k in range(1, 51)}  # both loaded
    watched = {"i1", "i2", "i3"}
    b.events.put_events(
        trackingId=tracker["trackingId"],
        userId="viewer",
        sessionId="s1",
        eventList=[
            {"eventType": "watch", "itemId": item, "sentAt": int(time.time())}
            for item in sorted(watched)
        ],
    )
    assert not listed(b) & watched  # the replica that stored them: at once
    deadline = time.monotonic() + 10  # the other: within its poll (EVENTS_POLL_SECONDS 1)
    while listed(a) & watched:
        assert time.monotonic() < deadline, "replica A never saw B's events"
        time.sleep(0.1)
    assert listed(a) == listed(b) == {f"i{k}" for k in range(4, 51)}
