"""Nothing silently ignored: every member of botocore's models is honoured or refused.

The table is services/engine/wire/coverage.py; these tests hold it to botocore's installed
models, to the engine's handlers, and to docs/personalize-coverage.md, then check the
refusals and the model-driven validation through unchanged boto3 clients and raw HTTP.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError

from services.engine import events
from services.engine.controlplane import OPERATIONS, common
from services.engine.runtime import routes as runtime_routes
from services.engine.wire import coverage
from services.engine.wire.model import HONOURED, SERVICES, DefaultOnly, Refused, operations
from tests.engine.helpers import Clients, recipe_arn, signed_headers, unique
from tests.utils.servers import RunningServer

ROOT = Path(__file__).resolve().parents[2]
ARN = "arn:aws:personalize:us-east-1:000000000000"
GROUP = f"{ARN}:dataset-group/nope"
VERSION = f"{ARN}:solution/nope/00000000"
CAMPAIGN = f"{ARN}:campaign/nope"
# Honoured though no handler reads them. eventId: AWS documents no behaviour for it through
# the API. recipeProvider: its one value, SERVICE, selects every recipe the engine has.
NOT_READ = {
    ("personalize-events", "PutEvents", "eventList.eventId"),
    ("personalize", "ListRecipes", "recipeProvider"),
}


def _answered() -> dict[tuple[str, str], Any]:
    """What the engine routes, by (service, operation), to the code that answers it."""
    out: dict[tuple[str, str], Any] = {
        ("personalize", name): handler for name, handler in OPERATIONS.items()
    }
    for route in runtime_routes.routes:
        out[("personalize-runtime", route.name)] = runtime_routes
    for route in events.routes:
        out[("personalize-events", route.name)] = events
    return out


def test_the_installed_botocore_has_the_operations_the_table_was_audited_against() -> None:
    counts = {service: len(operations(service)) for service in SERVICES}
    assert counts == {"personalize": 71, "personalize-runtime": 3, "personalize-events": 5}


def test_every_operation_is_answered_with_a_table_or_refused() -> None:
    answered = _answered()
    assert set(coverage.COVERAGE) == set(answered)
    for service in SERVICES:
        for operation in operations(service):
            if (service, operation) not in answered:
                continue  # answered with UnknownOperationException (test_wire.py)
            assert (service, operation) in coverage.COVERAGE, (service, operation)


def test_every_member_of_the_table_exists_and_every_honoured_one_is_read() -> None:
    """A table entry names a real member path; a member marked honoured is read by the code
    that answers the operation (an audit aid: a handler that never reads it cannot honour it).
    Members missing from the table are refused by construction."""
    answered = _answered()
    for (service, operation), rules in coverage.COVERAGE.items():
        paths = set(coverage.member_paths(operations(service)[operation]))
        assert set(rules) <= paths, (operation, set(rules) - paths)
        handler = answered[(service, operation)]
        module = inspect.getmodule(handler) or handler
        source = inspect.getsource(module) + inspect.getsource(common)
        for path, rule in rules.items():
            assert rule == HONOURED or isinstance(rule, Refused | DefaultOnly), (path, rule)
            if rule != HONOURED or (service, operation, path) in NOT_READ:
                continue
            leaf = path.rsplit(".", 1)[-1]
            assert f'"{leaf}"' in source, f"{operation}.{path} is honoured but never read"


def test_the_coverage_document_is_current() -> None:
    committed = (ROOT / "docs" / "personalize-coverage.md").read_text()
    assert committed == coverage.table(), (
        "docs/personalize-coverage.md is out of date: run "
        "`python -m services.engine.wire.coverage > docs/personalize-coverage.md`"
    )


def _refused(call: Any, *words: str) -> str:
    with pytest.raises(ClientError) as info:
        call()
    error = info.value.response["Error"]
    assert error["Code"] == "InvalidInputException", error
    for word in words:
        assert word in error["Message"], error["Message"]
    return str(error["Message"])


@pytest.mark.parametrize(
    ("operation", "kwargs", "words"),
    [
        pytest.param(
            "create_campaign",
            {"campaignConfig": {"itemExplorationConfig": {"explorationWeight": "0.3"}}},
            ("campaignConfig.itemExplorationConfig is not supported by this engine",),
            id="item-exploration",
        ),
        pytest.param(
            "create_campaign",
            {"campaignConfig": {"enableMetadataWithRecommendations": True}},
            ("campaignConfig.enableMetadataWithRecommendations = true", "only false"),
            id="metadata",
        ),
        pytest.param(
            "create_campaign",
            {"campaignConfig": {"syncWithLatestSolutionVersion": True}},
            ("campaignConfig.syncWithLatestSolutionVersion = true", "only false"),
            id="sync",
        ),
        pytest.param(
            "create_campaign",
            {"campaignConfig": {"rankingInfluence": {"POPULARITY": 0.5}}},
            ("campaignConfig.rankingInfluence is not supported",),
            id="ranking-influence",
        ),
        pytest.param(
            "create_campaign",
            {"minProvisionedTPS": 5},
            ("minProvisionedTPS = 5", "only 1"),
            id="tps",
        ),
        pytest.param(
            "create_campaign",
            {"tags": [{"tagKey": "team", "tagValue": "recs"}]},
            ("tags = ", "only []"),
            id="tags",
        ),
    ],
)
def test_campaign_options_that_would_do_nothing_are_refused(
    clients: Clients, operation: str, kwargs: dict[str, Any], words: tuple[str, ...]
) -> None:
    p = clients.personalize
    _refused(
        lambda: getattr(p, operation)(name=unique("c"), solutionVersionArn=VERSION, **kwargs),
        *words,
    )
    if "tags" not in kwargs:
        _refused(lambda: p.update_campaign(campaignArn=CAMPAIGN, **kwargs), *words)


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        pytest.param({"performAutoML": True}, ("performAutoML = true", "only false"), id="automl"),
        pytest.param(
            {"solutionConfig": {"autoMLConfig": {"recipeList": [recipe_arn("aws-sims")]}}},
            ("solutionConfig.autoMLConfig is not supported",),
            id="automl-config",
        ),
        pytest.param(
            {
                "performHPO": True,
                "solutionConfig": {
                    "hpoConfig": {"hpoResourceConfig": {"maxNumberOfTrainingJobs": "4"}}
                },
            },
            ("solutionConfig.hpoConfig is not supported",),
            id="hpo-config",
        ),
        pytest.param(
            {"performAutoTraining": True}, ("performAutoTraining = true",), id="auto-training"
        ),
        pytest.param(
            {"solutionConfig": {"autoTrainingConfig": {"schedulingExpression": "rate(7 days)"}}},
            ("solutionConfig.autoTrainingConfig is not supported",),
            id="auto-training-config",
        ),
        pytest.param(
            {"performIncrementalUpdate": True},
            ("performIncrementalUpdate = true",),
            id="incremental",
        ),
        pytest.param(
            {"solutionConfig": {"optimizationObjective": {"itemAttribute": "PRICE"}}},
            ("solutionConfig.optimizationObjective is not supported",),
            id="objective",
        ),
        pytest.param(
            {"solutionConfig": {"featureTransformationParameters": {"a": "b"}}},
            ("solutionConfig.featureTransformationParameters is not supported",),
            id="feature-transformation",
        ),
    ],
)
def test_solution_options_that_would_do_nothing_are_refused(
    clients: Clients, kwargs: dict[str, Any], words: tuple[str, ...]
) -> None:
    p = clients.personalize
    _refused(
        lambda: p.create_solution(
            name=unique("s"), datasetGroupArn=GROUP, recipeArn=recipe_arn("aws-sims"), **kwargs
        ),
        *words,
    )


def test_defaults_that_are_what_the_engine_does_pass(clients: Clients) -> None:
    """The refusal comes before the operation; these pass it and reach the handler."""
    p = clients.personalize
    with pytest.raises(p.exceptions.ResourceNotFoundException):
        p.create_solution(
            name=unique("s"),
            datasetGroupArn=GROUP,
            recipeArn=recipe_arn("aws-sims"),
            performHPO=False,
            performAutoML=False,
            performAutoTraining=False,
            performIncrementalUpdate=False,
            tags=[],
        )
    with pytest.raises(p.exceptions.ResourceNotFoundException):
        p.create_campaign(
            name=unique("c"),
            solutionVersionArn=VERSION,
            minProvisionedTPS=1,
            campaignConfig={
                "syncWithLatestSolutionVersion": False,
                "enableMetadataWithRecommendations": False,
            },
        )


def test_dataset_group_options_that_would_do_nothing_are_refused(clients: Clients) -> None:
    p = clients.personalize
    _refused(
        lambda: p.create_dataset_group(name=unique("g"), domain="VIDEO_ON_DEMAND"),
        "domain is not supported",
    )
    _refused(
        lambda: p.create_dataset_group(
            name=unique("g"), kmsKeyArn="arn:aws:kms:us-east-1:123456789012:key/k"
        ),
        "kmsKeyArn is not supported",
    )
    _refused(
        lambda: p.create_schema(name=unique("s"), schema="{}", domain="ECOMMERCE"),
        "domain is not supported",
    )
    _refused(
        lambda: p.create_dataset_import_job(
            jobName=unique("j"),
            datasetArn=f"{ARN}:dataset/nope/INTERACTIONS",
            dataSource={"dataLocation": "s3://bucket/key.csv"},
            publishAttributionMetricsToS3=True,
        ),
        "publishAttributionMetricsToS3 = true",
    )
    _refused(
        lambda: p.create_solution_version(
            solutionArn=f"{ARN}:solution/nope", trainingMode="AUTOTRAIN"
        ),
        "AUTOTRAIN",
    )


def test_runtime_and_event_options_that_would_do_nothing_are_refused(clients: Clients) -> None:
    rt, ev = clients.runtime, clients.events
    _refused(
        lambda: rt.get_recommendations(campaignArn=CAMPAIGN, userId="1", context={"DEVICE": "tv"}),
        "context is not supported",
    )
    _refused(
        lambda: rt.get_recommendations(
            campaignArn=CAMPAIGN, userId="1", metadataColumns={"ITEMS": ["GENRES"]}
        ),
        "metadataColumns is not supported",
    )
    _refused(
        lambda: rt.get_recommendations(
            campaignArn=CAMPAIGN, userId="1", promotions=[{"name": "p", "percentPromotedItems": 10}]
        ),
        "promotions is not supported",
    )
    _refused(
        lambda: rt.get_recommendations(recommenderArn=f"{ARN}:recommender/r", userId="1"),
        "recommenderArn is not supported",
        "campaignArn",
    )
    _refused(
        lambda: rt.get_personalized_ranking(
            campaignArn=CAMPAIGN, userId="1", inputList=["1"], context={"DEVICE": "tv"}
        ),
        "context is not supported",
    )
    for member, value in [
        ("properties", '{"device": "tv"}'),
        ("recommendationId", "RID-1"),
        ("impression", ["1", "2"]),
        ("metricAttribution", {"eventAttributionSource": "email"}),
    ]:
        event = {"eventType": "watch", "itemId": "1", "sentAt": 1700000000, member: value}
        _refused(
            lambda event=event: ev.put_events(
                trackingId="t", sessionId="s", userId="u", eventList=[event]
            ),
            f"eventList[0].{member} is not supported",
        )


def test_legacy_hrnn_aliases_are_neither_listed_nor_accepted(clients: Clients) -> None:
    p = clients.personalize
    names = {r["name"] for r in p.list_recipes()["recipes"]}
    assert not names & {"aws-hrnn-metadata", "aws-hrnn-coldstart"}
    for alias in ("aws-hrnn-metadata", "aws-hrnn-coldstart"):
        _refused(lambda alias=alias: p.describe_recipe(recipeArn=recipe_arn(alias)), alias)
        _refused(
            lambda alias=alias: p.create_solution(
                name=unique("s"), datasetGroupArn=GROUP, recipeArn=recipe_arn(alias)
            ),
            f"Recipe {alias} is not supported by this engine",
            "aws-hrnn",
        )


@pytest.mark.parametrize(
    ("target", "body", "words"),
    [
        pytest.param("CreateDatasetGroup", {"name": ["x"]}, ("'name'", "a string"), id="type"),
        pytest.param("CreateDatasetGroup", {}, ("'name' is required",), id="required"),
        pytest.param(
            "CreateCampaign",
            {"name": "c", "solutionVersionArn": VERSION, "campaignConfig": "x"},
            ("'campaignConfig'", "an object"),
            id="structure-type",
        ),
        pytest.param(
            "CreateSolution",
            {
                "name": "s",
                "datasetGroupArn": GROUP,
                "solutionConfig": {"algorithmHyperParameters": {"k": 5}},
            },
            ("solutionConfig.algorithmHyperParameters.k", "a string"),
            id="map-value",
        ),
        pytest.param(
            "CreateSolution",
            {"name": "s", "datasetGroupArn": GROUP, "performHPO": "yes"},
            ("'performHPO'", "a boolean"),
            id="boolean",
        ),
        pytest.param(
            "ListSchemas", {"maxResults": 1.5}, ("'maxResults'", "an integer"), id="integer"
        ),
        pytest.param("ListSchemas", {"maxResults": 0}, ("greater than or equal to 1",), id="min"),
        pytest.param(
            "CreateFilter",
            {"name": "f", "datasetGroupArn": GROUP, "filterExpression": ""},
            ("'filterExpression'", "length greater than or equal to 1"),
            id="min-length",
        ),
        pytest.param(
            "ListRecipes", {"recipeProvider": "ME"}, ("enum value set: [SERVICE]",), id="enum"
        ),
        pytest.param(
            "ListSchemas",
            {"nextToken": "\u00e9"},
            ("'nextToken'", "regular expression pattern"),
            id="pattern",
        ),
    ],
)
def test_raw_bodies_are_checked_against_the_model(
    engine: RunningServer, target: str, body: dict[str, Any], words: tuple[str, ...]
) -> None:
    """Bodies botocore would never send: 400 InvalidInputException naming member and rule."""
    raw = json.dumps(body).encode()
    headers = {"X-Amz-Target": f"AmazonPersonalize.{target}"}
    url = engine.url + "/"
    answer = httpx.post(url, content=raw, headers=signed_headers(url, body=raw, headers=headers))
    assert answer.status_code == 400, answer.text
    assert answer.json()["__type"] == "InvalidInputException"
    for word in words:
        assert word in answer.json()["message"], answer.json()["message"]


@pytest.mark.parametrize(
    ("path", "body", "words"),
    [
        pytest.param(
            "/recommendations",
            {"campaignArn": CAMPAIGN, "filterValues": {"A": 1}},
            ("filterValues.A", "a string"),
            id="runtime-map",
        ),
        pytest.param(
            "/personalize-ranking",
            {"campaignArn": CAMPAIGN, "userId": "1", "inputList": [None]},
            ("inputList[0]", "not be null"),
            id="runtime-list",
        ),
        pytest.param(
            "/events",
            {"trackingId": "t", "sessionId": "s", "eventList": [{"eventType": "w"}]},
            ("'eventList[0].sentAt' is required",),
            id="events-required",
        ),
        pytest.param(
            "/events",
            {"trackingId": "t", "sessionId": "s", "eventList": []},
            ("'eventList'", "length greater than or equal to 1"),
            id="events-min",
        ),
        pytest.param(
            "/events",
            {
                "trackingId": "t",
                "sessionId": "s",
                "eventList": [{"eventType": "w", "sentAt": True, "itemId": "1"}],
            },
            ("eventList[0].sentAt", "a number"),
            id="events-timestamp",
        ),
    ],
)
def test_raw_runtime_and_event_bodies_are_checked_against_the_model(
    engine: RunningServer, path: str, body: dict[str, Any], words: tuple[str, ...]
) -> None:
    raw = json.dumps(body).encode()
    url = engine.url + path
    answer = httpx.post(url, content=raw, headers=signed_headers(url, body=raw))
    assert answer.status_code == 400, answer.text
    assert answer.json()["__type"] == "InvalidInputException"
    for word in words:
        assert word in answer.json()["message"], answer.json()["message"]
