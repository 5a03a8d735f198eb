"""PutEvents: validation, and new events reaching the next recommendations without retraining."""

from __future__ import annotations

import time

import pytest

from tests.engine.helpers import Clients, synthetic_interactions, unique, wait_for


@pytest.fixture(scope="module")
def tracking_id(clients: Clients, small_group: dict[str, str]) -> str:
    p = clients.personalize
    created = p.create_event_tracker(name=unique("tracker"), datasetGroupArn=small_group["group"])
    wait_for(p.describe_event_tracker, "eventTracker", eventTrackerArn=created["eventTrackerArn"])
    assert (
        p.describe_dataset(datasetArn=small_group["INTERACTIONS"])["dataset"]["trackingId"]
        == created["trackingId"]
    )
    return str(created["trackingId"])


def _event(item: str, **extra: object) -> dict[str, object]:
    return {"eventType": "watch", "itemId": item, "sentAt": time.time(), **extra}


def test_bad_events(clients: Clients, tracking_id: str) -> None:
    ev = clients.events
    with pytest.raises(ev.exceptions.InvalidInputException) as info:
        ev.put_events(
            trackingId="00000000-0000-0000-0000-000000000000",
            userId="u1",
            sessionId="s",
            eventList=[_event("i1")],
        )
    assert "trackingId" in info.value.response["Error"]["Message"]
    with pytest.raises(ev.exceptions.InvalidInputException):
        ev.put_events(
            trackingId=tracking_id, userId="u1", sessionId="s", eventList=[_event("i1")] * 11
        )
    with pytest.raises(ev.exceptions.InvalidInputException) as info:
        ev.put_events(
            trackingId=tracking_id,
            userId="u1",
            sessionId="s",
            eventList=[_event("i1", properties="{bad")],
        )
    assert "properties" in info.value.response["Error"]["Message"]
    with pytest.raises(ev.exceptions.InvalidInputException):
        ev.put_events(
            trackingId=tracking_id,
            userId="u1",
            sessionId="s",
            eventList=[_event("i1", recommendationId="r" * 41)],
        )


def test_events_change_user_personalization(
    clients: Clients, small_group: dict[str, str], tracking_id: str
) -> None:
    rt = clients.runtime
    campaign = small_group["aws-user-personalization"]
    user = "fresh-user"
    before = [
        i["itemId"]
        for i in rt.get_recommendations(campaignArn=campaign, userId=user, numResults=20)[
            "itemList"
        ]
    ]
    response = clients.events.put_events(
        trackingId=tracking_id,
        userId=user,
        sessionId="session-1",
        eventList=[
            _event(f"i{k}", eventId=f"e{k}")
            for k in (40, 41, 42, 43, 44)
        ],
    )
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    after = [
        i["itemId"]
        for i in rt.get_recommendations(campaignArn=campaign, userId=user, numResults=20)[
            "itemList"
        ]
    ]
    assert after != before


def test_a_known_users_next_event_shows_at_once(
    clients: Clients, small_group: dict[str, str], tracking_id: str
) -> None:
    # The engine keeps a user's scores between requests (SCORE_CACHE_MB); a new event must
    # still change the very next answer.
    rt = clients.runtime
    campaign = small_group["aws-user-personalization"]

    def recommended() -> list[str]:
        answer = rt.get_recommendations(campaignArn=campaign, userId="u33", numResults=10)
        return [i["itemId"] for i in answer["itemList"]]

    first = recommended()
    assert recommended() == first  # asked again, unchanged history: the same list
    clients.events.put_events(
        trackingId=tracking_id,
        userId="u33",
        sessionId="session-u33",
        eventList=[_event(first[0], eventId="u33-next")],
    )
    after = recommended()
    assert first[0] not in after  # just watched, so no longer recommended
    assert after != first


def test_events_feed_the_watched_filter(
    clients: Clients, small_group: dict[str, str], tracking_id: str
) -> None:
    p, rt = clients.personalize, clients.runtime
    watched = p.create_filter(
        name=unique("w"),
        datasetGroupArn=small_group["group"],
        filterExpression='EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("watch")',
    )["filterArn"]
    wait_for(p.describe_filter, "filter", filterArn=watched)
    user = "u7"
    history = {i for u, i, _ in synthetic_interactions() if u == user}
    campaign = small_group["aws-popularity-count"]
    top = next(f"i{k}" for k in range(1, 51) if f"i{k}" not in history)
    first = rt.get_recommendations(
        campaignArn=campaign, userId=user, filterArn=watched, numResults=50
    )["itemList"]
    assert top in {i["itemId"] for i in first}  # imported rows have no event type: not "watch"
    clients.events.put_events(
        trackingId=tracking_id, userId=user, sessionId="s7", eventList=[_event(top)]
    )
    second = rt.get_recommendations(
        campaignArn=campaign, userId=user, filterArn=watched, numResults=50
    )["itemList"]
    assert top not in {i["itemId"] for i in second}
