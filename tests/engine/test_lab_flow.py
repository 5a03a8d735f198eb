"""The lab's sequence of calls, once with aiobotocore and once with boto3, against the engine.

Data: ml-100k u.data with rating > 3.6 as USER_ID,ITEM_ID,TIMESTAMP (timestamps + 660833618,
as the lab does), uploaded to moto's S3 from the local dataset copy (never stored in the repo).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
from aiobotocore.session import get_session
from botocore.exceptions import ClientError

from tests.engine.helpers import (
    INTERACTIONS_SCHEMA,
    NO_RETRIES,
    ROLE_ARN,
    client_kwargs,
    recipe_arn,
    unique,
)
from tests.utils.servers import RunningServer

TIME_SHIFT = 660833618
BUCKET = "engine-lab"
KEY = "ml-100k/interactions.csv"
METRIC_KEYS = {
    "coverage",
    "mean_reciprocal_rank_at_25",
    "normalized_discounted_cumulative_gain_at_5",
    "normalized_discounted_cumulative_gain_at_10",
    "normalized_discounted_cumulative_gain_at_25",
    "precision_at_5",
    "precision_at_10",
    "precision_at_25",
}
Call = Callable[..., Awaitable[dict[str, Any]]]


@pytest.fixture(scope="module")
def lab_rows(movielens_dir: Path, s3: Any) -> dict[str, list[tuple[int, str]]]:
    """Upload the lab CSV to moto; return each user's (timestamp, item) rows in file order."""
    lines = ["USER_ID,ITEM_ID,TIMESTAMP"]
    history: dict[str, list[tuple[int, str]]] = {}
    for line in (movielens_dir / "u.data").read_text().splitlines():
        user, item, rating, ts = line.split("\t")
        if int(rating) > 3.6:
            lines.append(f"{user},{item},{int(ts) + TIME_SHIFT}")
            history.setdefault(user, []).append((int(ts), item))
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=("\n".join(lines) + "\n").encode())
    return history


async def _wait(call: Call, op: str, key: str, **kwargs: Any) -> dict[str, Any]:
    deadline = time.monotonic() + 180
    while True:
        resource = (await call("personalize", op, **kwargs))[key]
        if resource["status"] in ("ACTIVE", "CREATE FAILED"):
            assert resource["status"] == "ACTIVE", resource
            return resource
        assert time.monotonic() < deadline, resource
        await asyncio.sleep(0.1)


async def lab_flow(call: Call, history: dict[str, list[tuple[int, str]]]) -> None:
    schema = (
        await call(
            "personalize", "create_schema", name=unique("lab-schema"), schema=INTERACTIONS_SCHEMA
        )
    )["schemaArn"]
    group = (await call("personalize", "create_dataset_group", name=unique("lab-group")))[
        "datasetGroupArn"
    ]
    await _wait(call, "describe_dataset_group", "datasetGroup", datasetGroupArn=group)
    dataset = (
        await call(
            "personalize",
            "create_dataset",
            name=unique("lab-ds"),
            schemaArn=schema,
            datasetGroupArn=group,
            datasetType="Interactions",
        )
    )["datasetArn"]
    await _wait(call, "describe_dataset", "dataset", datasetArn=dataset)
    job = (
        await call(
            "personalize",
            "create_dataset_import_job",
            jobName=unique("lab-job"),
            datasetArn=dataset,
            dataSource={"dataLocation": f"s3://{BUCKET}/{KEY}"},
            roleArn=ROLE_ARN,
        )
    )["datasetImportJobArn"]
    await _wait(call, "describe_dataset_import_job", "datasetImportJob", datasetImportJobArn=job)

    recipes = ["aws-user-personalization", "aws-sims", "aws-personalized-ranking"]
    solutions = {}
    for recipe in recipes:
        solutions[recipe] = (
            await call(
                "personalize",
                "create_solution",
                name=unique("lab-sol"),
                datasetGroupArn=group,
                recipeArn=recipe_arn(recipe),
            )
        )["solutionArn"]
    versions = {}
    for recipe, solution in solutions.items():
        await _wait(call, "describe_solution", "solution", solutionArn=solution)
        versions[recipe] = (
            await call("personalize", "create_solution_version", solutionArn=solution)
        )["solutionVersionArn"]
    try:
        await call("personalize", "get_solution_metrics", solutionVersionArn=versions["aws-sims"])
        raise AssertionError("metrics before ACTIVE")
    except ClientError as exc:
        assert exc.response["Error"]["Code"] == "ResourceInUseException"
    campaigns = {}
    for recipe, version in versions.items():
        described = await _wait(
            call, "describe_solution_version", "solutionVersion", solutionVersionArn=version
        )
        assert described["recipeArn"] == recipe_arn(recipe)
        metrics = (await call("personalize", "get_solution_metrics", solutionVersionArn=version))[
            "metrics"
        ]
        assert set(metrics) == METRIC_KEYS
        assert all(round(v, 4) == v and 0 <= v <= 1 for v in metrics.values())
        campaigns[recipe] = (
            await call(
                "personalize",
                "create_campaign",
                name=unique("lab-camp"),
                solutionVersionArn=version,
                minProvisionedTPS=1,
            )
        )["campaignArn"]
    for recipe, campaign in campaigns.items():
        described = await _wait(call, "describe_campaign", "campaign", campaignArn=campaign)
        assert described["solutionVersionArn"] == versions[recipe]

    user = "711"
    recs = (
        await call(
            "personalize-runtime",
            "get_recommendations",
            campaignArn=campaigns["aws-user-personalization"],
            userId=user,
        )
    )["itemList"]
    assert len(recs) == 25 and all(0 < r["score"] < 1 for r in recs)
    assert (
        len(
            (
                await call(
                    "personalize-runtime",
                    "get_recommendations",
                    campaignArn=campaigns["aws-sims"],
                    itemId="1",
                    numResults=10,
                )
            )["itemList"]
        )
        == 10
    )
    inputs = ["50", "181", "100", "258", "1"]
    ranked = await call(
        "personalize-runtime",
        "get_personalized_ranking",
        campaignArn=campaigns["aws-personalized-ranking"],
        userId=user,
        inputList=inputs,
    )
    assert sorted(r["itemId"] for r in ranked["personalizedRanking"]) == sorted(inputs)

    unseen = (
        await call(
            "personalize",
            "create_filter",
            name=unique("lab-unseen"),
            datasetGroupArn=group,
            filterExpression='EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("*")',
        )
    )["filterArn"]
    await _wait(call, "describe_filter", "filter", filterArn=unseen)
    filtered = (
        await call(
            "personalize-runtime",
            "get_recommendations",
            campaignArn=campaigns["aws-user-personalization"],
            userId=user,
            filterArn=unseen,
            numResults=50,
        )
    )["itemList"]
    assert len(filtered) == 50
    # The filter sees the 100 most recent interactions per event type (stable order for ties).
    recent = {item for _, item in sorted(history[user], key=lambda row: row[0])[-100:]}
    assert recent
    assert not {r["itemId"] for r in filtered} & recent

    tracker = await call(
        "personalize", "create_event_tracker", name=unique("lab-tracker"), datasetGroupArn=group
    )
    await _wait(
        call, "describe_event_tracker", "eventTracker", eventTrackerArn=tracker["eventTrackerArn"]
    )
    top = filtered[0]["itemId"]
    await call(
        "personalize-events",
        "put_events",
        trackingId=tracker["trackingId"],
        userId=user,
        sessionId="lab",
        eventList=[
            {
                "eventType": "watch",
                "itemId": top,
                "sentAt": time.time(),
            }
        ],
    )
    after = (
        await call(
            "personalize-runtime",
            "get_recommendations",
            campaignArn=campaigns["aws-user-personalization"],
            userId=user,
            filterArn=unseen,
            numResults=50,
        )
    )["itemList"]
    assert top not in {r["itemId"] for r in after}


async def test_lab_flow_with_aiobotocore(
    engine: RunningServer, lab_rows: dict[str, list[tuple[int, str]]]
) -> None:
    session = get_session()
    kwargs = client_kwargs(engine.url) | {"config": NO_RETRIES}
    async with (
        session.create_client("personalize", **kwargs) as personalize,
        session.create_client("personalize-runtime", **kwargs) as runtime,
        session.create_client("personalize-events", **kwargs) as events,
    ):
        clients = {
            "personalize": personalize,
            "personalize-runtime": runtime,
            "personalize-events": events,
        }

        async def call(service: str, op: str, **kw: Any) -> dict[str, Any]:
            return await getattr(clients[service], op)(**kw)

        await lab_flow(call, lab_rows)


async def test_lab_flow_with_boto3(
    engine: RunningServer, lab_rows: dict[str, list[tuple[int, str]]]
) -> None:
    kwargs = client_kwargs(engine.url)
    clients = {
        name: boto3.client(name, **kwargs)
        for name in ("personalize", "personalize-runtime", "personalize-events")
    }

    async def call(service: str, op: str, **kw: Any) -> dict[str, Any]:
        return await asyncio.to_thread(getattr(clients[service], op), **kw)

    await lab_flow(call, lab_rows)
