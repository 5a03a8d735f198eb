"""The wire protocol: AWS error shapes, status codes, request ids, server-side validation."""

from __future__ import annotations

import json

import httpx
import pytest
from botocore.exceptions import ClientError

from tests.engine.helpers import INTERACTIONS_SCHEMA, Clients, signed_headers, unique
from tests.utils.servers import RunningServer

MISSING_GROUP = "arn:aws:personalize:us-east-1:000000000000:dataset-group/nope"
MISSING_CAMPAIGN = "arn:aws:personalize:us-east-1:000000000000:campaign/nope"


def test_request_id_on_success(clients: Clients) -> None:
    response = clients.personalize.list_recipes()
    assert response["ResponseMetadata"]["RequestId"]
    assert response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]


def test_not_found_is_400_on_control_plane(clients: Clients) -> None:
    p = clients.personalize
    with pytest.raises(p.exceptions.ResourceNotFoundException) as info:
        p.describe_dataset_group(datasetGroupArn=MISSING_GROUP)
    error = info.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error["Error"]["Message"] == f"Resource Arn {MISSING_GROUP} does not exist."
    assert error["ResponseMetadata"]["RequestId"]


def test_not_found_is_404_at_runtime(clients: Clients) -> None:
    rt = clients.runtime
    with pytest.raises(rt.exceptions.ResourceNotFoundException) as info:
        rt.get_recommendations(campaignArn=MISSING_CAMPAIGN, userId="1")
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert (
        info.value.response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-errortype"]
        == "ResourceNotFoundException"
    )


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        pytest.param({"name": "x" * 64}, "length less than or equal to 63", id="name-too-long"),
        pytest.param({"name": "-bad"}, "regular expression pattern", id="name-pattern"),
        pytest.param({"name": "ok", "domain": "GAMES"}, "enum value set", id="domain-enum"),
        pytest.param(
            {"name": "ok", "roleArn": "arn:aws:iam::1:role/x"}, "roleArn", id="role-arn-pattern"
        ),
        pytest.param(
            {"name": "ok", "tags": [{"tagKey": "k" * 129, "tagValue": "v"}]}, "tagKey", id="tag-key"
        ),
    ],
)
def test_server_validates_what_botocore_does_not(
    clients: Clients, kwargs: dict[str, object], needle: str
) -> None:
    p = clients.personalize
    with pytest.raises(p.exceptions.InvalidInputException) as info:
        p.create_dataset_group(**kwargs)
    assert needle in info.value.response["Error"]["Message"]


def test_max_results_and_num_results_maximums(clients: Clients) -> None:
    with pytest.raises(clients.personalize.exceptions.InvalidInputException):
        clients.personalize.list_dataset_groups(maxResults=101)
    with pytest.raises(clients.runtime.exceptions.InvalidInputException) as info:
        clients.runtime.get_recommendations(
            campaignArn=MISSING_CAMPAIGN, userId="1", numResults=501
        )
    assert "less than or equal to 500" in info.value.response["Error"]["Message"]


def test_bad_arn_pattern(clients: Clients) -> None:
    with pytest.raises(clients.personalize.exceptions.InvalidInputException):
        clients.personalize.describe_dataset_group(datasetGroupArn="not-an-arn")


def test_a_trailing_newline_passes_no_pattern(clients: Clients) -> None:
    # `re.match` with a pattern ending in `$` also matches before a final newline, so each of
    # these used to pass the server's checks (a group named "name\n" was created).
    p, runtime = clients.personalize, clients.runtime
    schema = json.loads(INTERACTIONS_SCHEMA)
    schema["fields"].append({"name": "DEVICE\n", "type": "string"})
    newline_field = json.dumps(schema)
    attempts = {
        "name": lambda: p.create_dataset_group(name=unique("nl") + "\n"),
        "arn": lambda: p.describe_dataset_group(datasetGroupArn=MISSING_GROUP + "\n"),
        "roleArn": lambda: p.create_dataset_group(
            name=unique("nl"), roleArn="arn:aws:iam::123456789012:role/r\n"
        ),
        "schema field": lambda: p.create_schema(name=unique("nl"), schema=newline_field),
        "map key": lambda: runtime.get_recommendations(
            campaignArn=MISSING_CAMPAIGN, userId="1", context={"DEVICE\n": "phone"}
        ),
    }
    for what, attempt in attempts.items():
        with pytest.raises(ClientError) as info:
            attempt()
        assert info.value.response["Error"]["Code"] == "InvalidInputException", what


def test_invalid_next_token(clients: Clients) -> None:
    with pytest.raises(clients.personalize.exceptions.InvalidNextTokenException):
        clients.personalize.list_schemas(nextToken="garbage!!")


def test_duplicate_name(clients: Clients) -> None:
    p = clients.personalize
    name = unique("dup")
    p.create_dataset_group(name=name)
    with pytest.raises(p.exceptions.ResourceAlreadyExistsException) as info:
        p.create_dataset_group(name=name)
    assert name in info.value.response["Error"]["Message"]


def test_malformed_bodies_get_aws_errors_never_5xx(engine: RunningServer) -> None:
    """Protocol edges botocore cannot produce: raw HTTP on purpose, correctly signed."""
    cases = [
        (
            "/",
            {"X-Amz-Target": "AmazonPersonalize.ListRecipes"},
            b"{not json",
            400,
            "InvalidInputException",
        ),
        (
            "/",
            {"X-Amz-Target": "AmazonPersonalize.NoSuchOp"},
            b"{}",
            400,
            "UnknownOperationException",
        ),
        ("/", {}, b"{}", 400, "UnknownOperationException"),
        ("/recommendations", {}, b"[1, 2]", 400, "InvalidInputException"),
        ("/events", {}, b"", 400, "InvalidInputException"),
        ("/nowhere", {}, b"{}", 404, "UnknownOperationException"),
    ]
    for path, headers, body, status, code in cases:
        signed = signed_headers(engine.url + path, body=body, headers=headers)
        response = httpx.post(engine.url + path, headers=signed, content=body)
        assert response.status_code == status, (path, response.text)
        assert response.json()["__type"] == code
        assert response.json()["message"]
        assert response.headers["x-amzn-requestid"]


def test_health(engine: RunningServer) -> None:
    assert httpx.get(engine.url + "/healthz").json()["status"] == "ok"
    ready = httpx.get(engine.url + "/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"database": "ok", "campaigns": "ok"}


def test_metrics_endpoint(engine: RunningServer, clients: Clients) -> None:
    clients.personalize.list_recipes()
    text = httpx.get(engine.url + "/metrics").text
    assert "http_requests_total" in text
    assert "engine_inferences_total" in text
