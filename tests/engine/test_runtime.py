"""personalize-runtime per recipe type, scores, wrong calls, and filters."""

from __future__ import annotations

import math
import re

import httpx
import pytest

from tests.engine.helpers import Clients, genre_of, synthetic_interactions, unique, wait_for
from tests.utils.servers import RunningServer

POPULARITY = "aws-popularity-count"
SIMS = "aws-sims"
USER = "aws-user-personalization"
RANKING = "aws-personalized-ranking"


def test_popularity_has_no_scores_and_default_25(
    clients: Clients, small_group: dict[str, str]
) -> None:
    response = clients.runtime.get_recommendations(campaignArn=small_group[POPULARITY], userId="u1")
    items = response["itemList"]
    assert len(items) == 25
    assert all(set(item) == {"itemId"} for item in items)
    assert items[0]["itemId"] == "i1"  # the most popular synthetic item
    assert 0 < len(response["recommendationId"]) <= 40


def test_unknown_user_gets_popular_items(clients: Clients, small_group: dict[str, str]) -> None:
    rt = clients.runtime
    unknown = rt.get_recommendations(campaignArn=small_group[USER], userId="nobody", numResults=10)[
        "itemList"
    ]
    assert len(unknown) == 10
    assert {"i1", "i2", "i3"} & {item["itemId"] for item in unknown}
    popular = rt.get_recommendations(
        campaignArn=small_group[POPULARITY], userId="nobody", numResults=3
    )
    assert [i["itemId"] for i in popular["itemList"]] == ["i1", "i2", "i3"]


def test_user_personalization_scores_are_a_softmax(
    clients: Clients, small_group: dict[str, str]
) -> None:
    items = clients.runtime.get_recommendations(
        campaignArn=small_group[USER], userId="u3", numResults=50
    )["itemList"]
    scores = [item["score"] for item in items]
    assert all(0 <= s <= 1 for s in scores)
    assert scores == sorted(scores, reverse=True)
    assert sum(scores) <= 1.0 + 1e-6
    known = {i for _, i, _ in synthetic_interactions()}
    assert {item["itemId"] for item in items} <= known


def score_cache(engine: RunningServer, campaign: str) -> tuple[float, float]:
    text = httpx.get(engine.url + "/metrics").text

    def value(name: str) -> float:
        found = re.search(rf'^{name}{{campaign="{re.escape(campaign)}"}} (\S+)$', text, re.M)
        return float(found.group(1)) if found else 0.0

    return value("engine_score_cache_hits_total"), value("engine_score_cache_misses_total")


def test_repeated_requests_reuse_kept_scores(
    engine: RunningServer, clients: Clients, small_group: dict[str, str]
) -> None:
    campaign = small_group[USER]
    ask = {"campaignArn": campaign, "userId": "u41", "numResults": 7}
    hits, misses = score_cache(engine, campaign)
    first = clients.runtime.get_recommendations(**ask)["itemList"]
    second = clients.runtime.get_recommendations(**ask)["itemList"]
    assert second == first
    after_hits, after_misses = score_cache(engine, campaign)
    assert (after_hits - hits, after_misses - misses) == (1, 1)


def test_num_results(clients: Clients, small_group: dict[str, str]) -> None:
    rt = clients.runtime
    assert (
        rt.get_recommendations(campaignArn=small_group[POPULARITY], userId="u1", numResults=0)[
            "itemList"
        ]
        == []
    )
    assert (
        len(
            rt.get_recommendations(
                campaignArn=small_group[POPULARITY], userId="u1", numResults=500
            )["itemList"]
        )
        == 50
    )


def test_sims(clients: Clients, small_group: dict[str, str]) -> None:
    rt = clients.runtime
    items = rt.get_recommendations(campaignArn=small_group[SIMS], itemId="i2", numResults=10)[
        "itemList"
    ]
    assert len(items) == 10
    assert all("score" not in item for item in items)
    assert "i2" not in {item["itemId"] for item in items}
    unknown = rt.get_recommendations(
        campaignArn=small_group[SIMS], itemId="no-such-item", numResults=5
    )["itemList"]
    assert len(unknown) == 5


def test_wrong_call_for_campaign_type(clients: Clients, small_group: dict[str, str]) -> None:
    rt = clients.runtime
    with pytest.raises(rt.exceptions.InvalidInputException) as info:
        rt.get_personalized_ranking(campaignArn=small_group[SIMS], userId="u1", inputList=["i1"])
    assert "PERSONALIZED_RANKING" in info.value.response["Error"]["Message"]
    with pytest.raises(rt.exceptions.InvalidInputException) as info:
        rt.get_recommendations(campaignArn=small_group[USER], itemId="i1")
    assert "userId is required" in info.value.response["Error"]["Message"]
    with pytest.raises(rt.exceptions.InvalidInputException) as info:
        rt.get_recommendations(campaignArn=small_group[SIMS], userId="u1")
    assert "itemId is required" in info.value.response["Error"]["Message"]
    with pytest.raises(rt.exceptions.InvalidInputException) as info:
        rt.get_recommendations(campaignArn=small_group[RANKING], userId="u1")
    assert "GetPersonalizedRanking" in info.value.response["Error"]["Message"]


def test_personalized_ranking(clients: Clients, small_group: dict[str, str]) -> None:
    rt = clients.runtime
    inputs = ["i5", "unknown-1", "i9", "i1", "i30", "unknown-2"]
    ranking = rt.get_personalized_ranking(
        campaignArn=small_group[RANKING], userId="u2", inputList=inputs
    )
    ranked = ranking["personalizedRanking"]
    assert sorted(i["itemId"] for i in ranked) == sorted(inputs)
    assert [i["itemId"] for i in ranked[-2:]] == ["unknown-1", "unknown-2"]
    assert all("score" not in i for i in ranked[-2:])
    scores = [i["score"] for i in ranked[:-2]]
    assert math.isclose(sum(scores), 1.0, rel_tol=1e-6)
    assert scores == sorted(scores, reverse=True)
    with pytest.raises(rt.exceptions.InvalidInputException):
        rt.get_personalized_ranking(
            campaignArn=small_group[RANKING], userId="u2", inputList=["i1"] * 501
        )


def test_campaign_not_active_yet(clients: Clients, small_group: dict[str, str]) -> None:
    p = clients.personalize
    campaign = p.create_campaign(
        name=unique("early"), solutionVersionArn=small_group[f"{POPULARITY}:version"]
    )
    with pytest.raises(clients.runtime.exceptions.ResourceNotFoundException) as info:
        clients.runtime.get_recommendations(campaignArn=campaign["campaignArn"], userId="u1")
    assert "not ACTIVE" in info.value.response["Error"]["Message"]
    wait_for(p.describe_campaign, "campaign", campaignArn=campaign["campaignArn"])


def _filter(clients: Clients, group: str, expression: str) -> str:
    arn = clients.personalize.create_filter(
        name=unique("f"), datasetGroupArn=group, filterExpression=expression
    )["filterArn"]
    assert (
        wait_for(clients.personalize.describe_filter, "filter", filterArn=arn)["status"] == "ACTIVE"
    )
    return arn


@pytest.fixture(scope="module")
def filters(clients: Clients, small_group: dict[str, str]) -> dict[str, str]:
    group = small_group["group"]
    return {
        "watched": _filter(clients, group, 'EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("*")'),
        "genre": _filter(clients, group, "INCLUDE ItemID WHERE Items.GENRES IN ($GENRES)"),
        "genre_recent": _filter(
            clients, group, "INCLUDE ItemID WHERE Items.GENRES IN ($GENRES) AND Items.YEAR >= 1995"
        ),
        "both": _filter(
            clients,
            group,
            "INCLUDE ItemID WHERE Items.GENRES IN ($GENRES) | "
            'EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("*")',
        ),
    }


def test_exclude_watched(
    clients: Clients, small_group: dict[str, str], filters: dict[str, str]
) -> None:
    watched = {i for u, i, _ in synthetic_interactions() if u == "u4"}
    items = clients.runtime.get_recommendations(
        campaignArn=small_group[POPULARITY],
        userId="u4",
        numResults=50,
        filterArn=filters["watched"],
    )["itemList"]
    assert {i["itemId"] for i in items} == {f"i{k}" for k in range(1, 51)} - watched


def test_include_genre(
    clients: Clients, small_group: dict[str, str], filters: dict[str, str]
) -> None:
    rt = clients.runtime
    items = rt.get_recommendations(
        campaignArn=small_group[USER],
        userId="u5",
        numResults=50,
        filterArn=filters["genre"],
        filterValues={"GENRES": '"Comedy","Horror"'},
    )["itemList"]
    assert items
    assert all(genre_of(i["itemId"]) & {"Comedy", "Horror"} for i in items)
    recent = rt.get_recommendations(
        campaignArn=small_group[POPULARITY],
        userId="u5",
        numResults=50,
        filterArn=filters["genre_recent"],
        filterValues={"GENRES": '"Action"'},
    )["itemList"]
    expected = {
        f"i{k}" for k in range(1, 51) if "Action" in genre_of(f"i{k}") and 1990 + k % 10 >= 1995
    }
    assert {i["itemId"] for i in recent} == expected
    with pytest.raises(rt.exceptions.InvalidInputException) as info:
        rt.get_recommendations(
            campaignArn=small_group[USER], userId="u5", filterArn=filters["genre"]
        )
    assert "GENRES" in info.value.response["Error"]["Message"]


def test_joined_expressions_on_sims(
    clients: Clients, small_group: dict[str, str], filters: dict[str, str]
) -> None:
    watched = {i for u, i, _ in synthetic_interactions() if u == "u6"}
    items = clients.runtime.get_recommendations(
        campaignArn=small_group[SIMS],
        itemId="i3",
        userId="u6",
        numResults=50,
        filterArn=filters["both"],
        filterValues={"GENRES": '"Drama"'},
    )["itemList"]
    ids = {i["itemId"] for i in items}
    assert not ids & watched
    assert all("Drama" in genre_of(i) for i in ids)


def test_missing_filter(clients: Clients, small_group: dict[str, str]) -> None:
    with pytest.raises(clients.runtime.exceptions.ResourceNotFoundException):
        clients.runtime.get_recommendations(
            campaignArn=small_group[POPULARITY],
            userId="u1",
            filterArn=small_group["group"].replace("dataset-group", "filter"),
        )
