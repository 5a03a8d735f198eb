"""Engine metadata on SQLite and PostgreSQL: the same flow on each backend."""

from __future__ import annotations

from pathlib import Path

from tests.engine.conftest import ENGINE_APP, engine_env
from tests.engine.helpers import boto_clients, create_group, deploy, train, unique, wait_for
from tests.utils.servers import run_server


def test_flow_on_backend(database_url: str, tmp_path: Path) -> None:
    # Short status steps: this test checks storage, not lifecycle timing.
    env = engine_env(
        database_url,
        f"file://{tmp_path / 'art'}",
        STATUS_STEP_SECONDS="0.05",
        IMPORT_ROOTS=str(tmp_path),
    )
    with run_server(ENGINE_APP, env=env, log_dir=tmp_path) as server:
        clients = boto_clients(server.url)
        p = clients.personalize
        group = create_group(p, tmp_path, with_items=True)
        campaign = deploy(p, train(p, group["group"], "aws-popularity-count"))
        tracker = p.create_event_tracker(name=unique("t"), datasetGroupArn=group["group"])
        wait_for(
            p.describe_event_tracker, "eventTracker", eventTrackerArn=tracker["eventTrackerArn"]
        )
        clients.events.put_events(
            trackingId=tracker["trackingId"],
            userId="u1",
            sessionId="s",
            eventList=[{"eventType": "watch", "itemId": "i1", "sentAt": 2_000_000_000}],
        )
        f = p.create_filter(
            name=unique("f"),
            datasetGroupArn=group["group"],
            filterExpression='EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("watch")',
        )["filterArn"]
        wait_for(p.describe_filter, "filter", filterArn=f)
        items = clients.runtime.get_recommendations(
            campaignArn=campaign, userId="u1", numResults=3, filterArn=f
        )
        assert [i["itemId"] for i in items["itemList"]] == ["i2", "i3", "i4"]
        names = [
            g["name"]
            for g in p.get_paginator("list_dataset_groups")
            .paginate()
            .build_full_result()["datasetGroups"]
        ]
        assert group["group"].rsplit("/", 1)[1] in names
