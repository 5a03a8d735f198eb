"""Console pages over real HTTP: try-it for a user, API refusals shown as the API words
them, the live-status endpoint, and stale links."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from tests.engine.console.conftest import ADMIN_USERNAME
from tests.engine.console.helpers import csrf_of, sign_in
from tests.engine.helpers import Clients, unique, wait_for
from tests.utils.servers import RunningServer


@pytest.fixture
def admin(console_engine: RunningServer, admin_password: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=console_engine.url, timeout=30) as client:
        assert sign_in(client, ADMIN_USERNAME, admin_password).status_code == 303
        yield client


def test_try_it_recommends_titles_for_a_user(
    admin: httpx.Client, popularity_campaign: dict[str, str]
) -> None:
    name = popularity_campaign["campaign"].rsplit("/", 1)[1]
    page = admin.get(f"/console/campaigns/{name}", params={"user_id": "196", "num": "5"})
    assert page.status_code == 200
    titles = re.findall(r'<span class="title">([^<]+)</span>', page.text)
    assert len(titles) == 5
    assert all(re.search(r"\(\d{4}\)$", t) for t in titles), titles
    # The most popular film of the lab data set leads a popularity ranking.
    assert titles[0] == "Star Wars (1977)"


def test_try_it_shows_the_runtime_error(
    admin: httpx.Client, popularity_campaign: dict[str, str]
) -> None:
    name = popularity_campaign["campaign"].rsplit("/", 1)[1]
    page = admin.get(f"/console/campaigns/{name}", params={"user_id": "", "num": "5"})
    assert page.status_code == 200
    assert "userId is required" in page.text


def test_deleting_a_deployed_solution_shows_the_api_refusal(
    admin: httpx.Client, popularity_campaign: dict[str, str]
) -> None:
    token = csrf_of(admin.get("/console/").text)
    response = admin.post(
        "/console/delete",
        data={"csrf_token": token, "arn": popularity_campaign["solution"], "next": "/console/"},
    )
    assert response.status_code == 400
    assert "has a version deployed by campaign" in response.text
    assert "delete the campaign first" in response.text


def test_a_newline_after_next_on_delete_goes_home_instead_of_dropping_the_connection(
    admin: httpx.Client, console_clients: Clients
) -> None:
    # The sign-in attack on the other form that redirects to `next`: "\n" passed the local
    # path check and broke the Location header (uvicorn dropped the connection).
    p = console_clients.personalize
    group = p.create_dataset_group(name=unique("nl-next"))["datasetGroupArn"]
    wait_for(p.describe_dataset_group, "datasetGroup", datasetGroupArn=group)
    token = csrf_of(admin.get("/console/").text)
    response = admin.post(
        "/console/delete", data={"csrf_token": token, "arn": group, "next": "/console/x\n"}
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/console/"


def test_create_campaign_error_is_shown_on_the_form(
    admin: httpx.Client, popularity_campaign: dict[str, str]
) -> None:
    name = popularity_campaign["solution_name"]
    token = csrf_of(admin.get(f"/console/solutions/{name}").text)
    response = admin.post(
        f"/console/solutions/{name}/campaigns",
        data={
            "csrf_token": token,
            "campaign_name": "bad name!",
            "solution_version_arn": popularity_campaign["version"],
        },
    )
    assert response.status_code == 400
    assert "failed to satisfy constraint" in response.text
    assert 'value="bad name!"' in response.text


def test_status_endpoint(admin: httpx.Client, popularity_campaign: dict[str, str]) -> None:
    gone = "arn:aws:personalize:us-east-1:000000000000:filter/never-made"
    response = admin.get(
        "/console/status", params=[("arn", popularity_campaign["campaign"]), ("arn", gone)]
    )
    assert response.status_code == 200
    body = response.json()
    assert body[popularity_campaign["campaign"]]["status"] == "ACTIVE"
    assert body[gone] == {"status": "DELETED"}


def test_unknown_resource_page_is_a_404_page(admin: httpx.Client) -> None:
    response = admin.get("/console/groups/no-such-group")
    assert response.status_code == 404
    assert "does not exist" in response.text
