"""Control-plane lifecycles, errors, pagination and deletion, through boto3."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.engine.helpers import (
    INTERACTIONS_SCHEMA,
    ROLE_ARN,
    Clients,
    create_group,
    deploy,
    recipe_arn,
    train,
    unique,
    wait_for,
    wait_gone,
)


def test_dataset_group_lifecycle_is_observable(clients: Clients) -> None:
    p = clients.personalize
    arn = p.create_dataset_group(name=unique("life"))["datasetGroupArn"]
    seen = set()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        group = p.describe_dataset_group(datasetGroupArn=arn)["datasetGroup"]
        seen.add(group["status"])
        if group["status"] == "ACTIVE":
            break
        time.sleep(0.02)
    assert {"CREATE PENDING", "CREATE IN_PROGRESS", "ACTIVE"} <= seen
    assert "domain" not in group  # domain dataset groups are refused (test_coverage.py)
    assert group["creationDateTime"].tzinfo is not None


def test_using_a_group_before_it_is_active(clients: Clients) -> None:
    p = clients.personalize
    schema = p.create_schema(name=unique("s"), schema=INTERACTIONS_SCHEMA)["schemaArn"]
    group = p.create_dataset_group(name=unique("early"))["datasetGroupArn"]
    with pytest.raises(p.exceptions.ResourceInUseException) as info:
        p.create_dataset(
            name=unique("d"), schemaArn=schema, datasetGroupArn=group, datasetType="INTERACTIONS"
        )
    assert "not ACTIVE" in info.value.response["Error"]["Message"]


@pytest.mark.parametrize(
    ("schema", "needle"),
    [
        pytest.param("{nope", "not valid JSON", id="json"),
        pytest.param(json.dumps({"type": "enum", "name": "x"}), "Avro record", id="not-record"),
        pytest.param(
            json.dumps({"type": "record", "name": "x", "fields": [{"name": "A", "type": "uuid"}]}),
            "type 'uuid'",
            id="bad-type",
        ),
    ],
)
def test_invalid_schema(clients: Clients, schema: str, needle: str) -> None:
    p = clients.personalize
    with pytest.raises(p.exceptions.InvalidInputException) as info:
        p.create_schema(name=unique("bad"), schema=schema)
    assert needle in info.value.response["Error"]["Message"]


def test_dataset_needs_the_fields_of_its_type(clients: Clients) -> None:
    p = clients.personalize
    items_only = json.dumps(
        {"type": "record", "name": "x", "fields": [{"name": "ITEM_ID", "type": "string"}]}
    )
    schema = p.create_schema(name=unique("s"), schema=items_only)["schemaArn"]
    group = p.create_dataset_group(name=unique("g"))["datasetGroupArn"]
    wait_for(p.describe_dataset_group, "datasetGroup", datasetGroupArn=group)
    with pytest.raises(p.exceptions.InvalidInputException) as info:
        p.create_dataset(
            name=unique("d"), schemaArn=schema, datasetGroupArn=group, datasetType="INTERACTIONS"
        )
    assert "USER_ID" in info.value.response["Error"]["Message"]
    with pytest.raises(p.exceptions.InvalidInputException):
        p.create_dataset(
            name=unique("d"), schemaArn=schema, datasetGroupArn=group, datasetType="BOGUS"
        )


def test_list_pagination(clients: Clients) -> None:
    p = clients.personalize
    names = {unique("page") for _ in range(5)}
    for name in names:
        p.create_schema(name=name, schema=INTERACTIONS_SCHEMA)
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        kwargs = {"maxResults": 2} | ({"nextToken": token} if token else {})
        page = p.list_schemas(**kwargs)
        assert len(page["schemas"]) <= 2
        seen += [s["name"] for s in page["schemas"]]
        pages += 1
        token = page.get("nextToken")
        if not token:
            break
    assert names <= set(seen)
    assert len(seen) == len(set(seen))
    assert pages >= 3
    paginated = [
        s["name"]
        for pg in p.get_paginator("list_schemas").paginate(PaginationConfig={"PageSize": 3})
        for s in pg["schemas"]
    ]
    assert paginated == seen


def test_recipes(clients: Clients) -> None:
    p = clients.personalize
    names = {r["name"] for r in p.list_recipes(recipeProvider="SERVICE")["recipes"]}
    assert {
        "aws-popularity-count",
        "aws-sims",
        "aws-hrnn",
        "aws-user-personalization",
        "aws-personalized-ranking",
    } <= names
    recipe = p.describe_recipe(recipeArn=recipe_arn("aws-sims"))["recipe"]
    assert recipe["recipeType"] == "RELATED_ITEMS"
    assert recipe["status"] == "ACTIVE"
    with pytest.raises(p.exceptions.ResourceNotFoundException):
        p.describe_recipe(recipeArn=recipe_arn("aws-nope"))
    # Legacy HRNN variants would train plain aws-hrnn: not offered (test_coverage.py).
    assert not names & {"aws-hrnn-metadata", "aws-hrnn-coldstart"}


def test_solution_input_errors(clients: Clients) -> None:
    p = clients.personalize
    group = p.create_dataset_group(name=unique("g"))["datasetGroupArn"]
    wait_for(p.describe_dataset_group, "datasetGroup", datasetGroupArn=group)
    with pytest.raises(p.exceptions.ResourceNotFoundException):
        p.create_solution(name=unique("s"), datasetGroupArn=group, recipeArn=recipe_arn("aws-nope"))
    with pytest.raises(p.exceptions.InvalidInputException) as info:
        p.create_solution(
            name=unique("s"),
            datasetGroupArn=group,
            recipeArn=recipe_arn("aws-sims"),
            solutionConfig={"algorithmHyperParameters": {"hidden_dimension": "64"}},
        )
    assert "hidden_dimension" in info.value.response["Error"]["Message"]
    with pytest.raises(p.exceptions.InvalidInputException) as info:
        p.create_solution(name=unique("s"), datasetGroupArn=group)
    assert "recipeArn is required" in info.value.response["Error"]["Message"]


def test_training_too_little_data_fails_with_reason(clients: Clients) -> None:
    p = clients.personalize
    group = p.create_dataset_group(name=unique("empty"))["datasetGroupArn"]
    wait_for(p.describe_dataset_group, "datasetGroup", datasetGroupArn=group)
    solution = p.create_solution(
        name=unique("s"), datasetGroupArn=group, recipeArn=recipe_arn("aws-popularity-count")
    )["solutionArn"]
    wait_for(p.describe_solution, "solution", solutionArn=solution)
    version = p.create_solution_version(solutionArn=solution)["solutionVersionArn"]
    with pytest.raises(p.exceptions.ResourceInUseException):
        p.get_solution_metrics(solutionVersionArn=version)
    failed = wait_for(p.describe_solution_version, "solutionVersion", solutionVersionArn=version)
    assert failed["status"] == "CREATE FAILED"
    assert "no interactions" in failed["failureReason"]
    with pytest.raises(p.exceptions.ResourceInUseException):
        p.create_campaign(name=unique("c"), solutionVersionArn=version)


def test_stop_solution_version(clients: Clients, small_group: dict[str, str]) -> None:
    p = clients.personalize
    solution = p.create_solution(
        name=unique("stop"),
        datasetGroupArn=small_group["group"],
        recipeArn=recipe_arn("aws-popularity-count"),
    )["solutionArn"]
    wait_for(p.describe_solution, "solution", solutionArn=solution)
    version = p.create_solution_version(solutionArn=solution)["solutionVersionArn"]
    with pytest.raises(p.exceptions.ResourceInUseException):
        p.create_solution_version(solutionArn=solution)  # one training at a time
    p.stop_solution_version_creation(solutionVersionArn=version)
    assert (
        p.describe_solution_version(solutionVersionArn=version)["solutionVersion"]["status"]
        == "CREATE STOPPING"
    )
    stopped = wait_for(p.describe_solution_version, "solutionVersion", solutionVersionArn=version)
    assert stopped["status"] == "CREATE STOPPED"
    with pytest.raises(p.exceptions.ResourceInUseException):
        p.stop_solution_version_creation(solutionVersionArn=version)


def test_describe_and_list_everything(clients: Clients, small_group: dict[str, str]) -> None:
    p = clients.personalize
    group = small_group["group"]
    version = small_group["aws-sims:version"]
    described = p.describe_solution_version(solutionVersionArn=version)["solutionVersion"]
    assert described["recipeArn"] == recipe_arn("aws-sims")
    assert described["status"] == "ACTIVE"
    assert "algorithmHyperParameters" in described["tunedHPOParams"]
    metrics = p.get_solution_metrics(solutionVersionArn=version)["metrics"]
    assert set(metrics) == {
        "coverage",
        "mean_reciprocal_rank_at_25",
        "normalized_discounted_cumulative_gain_at_5",
        "normalized_discounted_cumulative_gain_at_10",
        "normalized_discounted_cumulative_gain_at_25",
        "precision_at_5",
        "precision_at_10",
        "precision_at_25",
    }
    solution_arn = described["solutionArn"]
    solution = p.describe_solution(solutionArn=solution_arn)["solution"]
    assert solution["latestSolutionVersion"]["solutionVersionArn"] == version
    assert [
        v["solutionVersionArn"]
        for v in p.list_solution_versions(solutionArn=solution_arn)["solutionVersions"]
    ] == [version]
    assert {s["solutionArn"] for s in p.list_solutions(datasetGroupArn=group)["solutions"]} >= {
        solution_arn
    }
    campaigns = p.list_campaigns(solutionArn=solution_arn)["campaigns"]
    assert [c["campaignArn"] for c in campaigns] == [small_group["aws-sims"]]
    campaign = p.describe_campaign(campaignArn=small_group["aws-sims"])["campaign"]
    assert campaign["solutionVersionArn"] == version
    assert campaign["minProvisionedTPS"] == 1
    datasets = {d["datasetType"] for d in p.list_datasets(datasetGroupArn=group)["datasets"]}
    assert datasets == {"INTERACTIONS", "ITEMS", "USERS"}
    jobs = p.list_dataset_import_jobs(datasetArn=small_group["INTERACTIONS"])["datasetImportJobs"]
    assert [j["status"] for j in jobs] == ["ACTIVE"]
    with pytest.raises(p.exceptions.ResourceNotFoundException):
        p.list_solution_versions(solutionArn=solution_arn + "x")


def test_event_tracker_one_per_group(clients: Clients) -> None:
    p = clients.personalize
    group = p.create_dataset_group(name=unique("g"))["datasetGroupArn"]
    wait_for(p.describe_dataset_group, "datasetGroup", datasetGroupArn=group)
    created = p.create_event_tracker(name=unique("t"), datasetGroupArn=group)
    tracker = wait_for(
        p.describe_event_tracker, "eventTracker", eventTrackerArn=created["eventTrackerArn"]
    )
    assert tracker["trackingId"] == created["trackingId"]
    assert tracker["datasetGroupArn"] == group
    with pytest.raises(p.exceptions.ResourceAlreadyExistsException):
        p.create_event_tracker(name=unique("t"), datasetGroupArn=group)
    assert [
        t["eventTrackerArn"] for t in p.list_event_trackers(datasetGroupArn=group)["eventTrackers"]
    ] == [created["eventTrackerArn"]]


def test_filters_lifecycle_and_errors(clients: Clients) -> None:
    p = clients.personalize
    group = p.create_dataset_group(name=unique("g"))["datasetGroupArn"]
    wait_for(p.describe_dataset_group, "datasetGroup", datasetGroupArn=group)
    with pytest.raises(p.exceptions.InvalidInputException) as info:
        p.create_filter(
            name=unique("f"),
            datasetGroupArn=group,
            filterExpression="EXCLUDE ItemID WHERE Items.GENRES",
        )
    assert "Invalid filter expression" in info.value.response["Error"]["Message"]
    assert "operator" in info.value.response["Error"]["Message"]
    arns = []
    for _ in range(10):
        arns.append(
            p.create_filter(
                name=unique("f"),
                datasetGroupArn=group,
                filterExpression='EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("*")',
            )["filterArn"]
        )
    with pytest.raises(p.exceptions.LimitExceededException):
        p.create_filter(
            name=unique("f"),
            datasetGroupArn=group,
            filterExpression='EXCLUDE ItemID WHERE Items.X IN ("a")',
        )
    described = wait_for(p.describe_filter, "filter", filterArn=arns[0])
    assert described["filterExpression"] == 'EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("*")'
    assert len(p.list_filters(datasetGroupArn=group)["Filters"]) == 10
    for arn in arns:
        wait_for(p.describe_filter, "filter", filterArn=arn)
        p.delete_filter(filterArn=arn)
    assert p.describe_filter(filterArn=arns[-1])["filter"]["status"] in (
        "DELETE PENDING",
        "DELETE IN_PROGRESS",
    )
    for arn in arns:
        wait_gone(p.describe_filter, p.exceptions.ResourceNotFoundException, filterArn=arn)


def test_delete_everything_in_order(clients: Clients, tmp_path: Path) -> None:
    p = clients.personalize
    group = create_group(p, tmp_path)
    version = train(p, group["group"], "aws-popularity-count")
    campaign = deploy(p, version)
    solution = p.describe_solution_version(solutionVersionArn=version)["solutionVersion"][
        "solutionArn"
    ]
    with pytest.raises(p.exceptions.ResourceInUseException):
        p.delete_dataset_group(datasetGroupArn=group["group"])
    with pytest.raises(p.exceptions.ResourceInUseException):
        p.delete_solution(solutionArn=solution)
    p.delete_campaign(campaignArn=campaign)
    assert p.describe_campaign(campaignArn=campaign)["campaign"]["status"].startswith("DELETE")
    wait_gone(p.describe_campaign, p.exceptions.ResourceNotFoundException, campaignArn=campaign)
    with pytest.raises(clients.runtime.exceptions.ResourceNotFoundException):
        clients.runtime.get_recommendations(campaignArn=campaign, userId="u1")
    p.delete_solution(solutionArn=solution)
    wait_gone(p.describe_solution, p.exceptions.ResourceNotFoundException, solutionArn=solution)
    with pytest.raises(p.exceptions.ResourceNotFoundException):
        p.describe_solution_version(solutionVersionArn=version)
    dataset = group["INTERACTIONS"]
    schema = p.describe_dataset(datasetArn=dataset)["dataset"]["schemaArn"]
    with pytest.raises(p.exceptions.ResourceInUseException):
        p.delete_schema(schemaArn=schema)
    p.delete_dataset(datasetArn=dataset)
    wait_gone(p.describe_dataset, p.exceptions.ResourceNotFoundException, datasetArn=dataset)
    p.delete_schema(schemaArn=schema)
    p.delete_dataset_group(datasetGroupArn=group["group"])
    wait_gone(
        p.describe_dataset_group,
        p.exceptions.ResourceNotFoundException,
        datasetGroupArn=group["group"],
    )
    with pytest.raises(p.exceptions.ResourceNotFoundException):
        p.delete_dataset_group(datasetGroupArn=group["group"])
    assert ROLE_ARN
