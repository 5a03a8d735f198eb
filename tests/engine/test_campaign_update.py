"""UpdateCampaign switches to a new solution version with no gap in serving."""

from __future__ import annotations

import threading

from tests.engine.helpers import Clients, boto_clients, train, wait_for
from tests.utils.servers import RunningServer


def test_update_has_no_gap(
    engine: RunningServer, clients: Clients, small_group: dict[str, str]
) -> None:
    p = clients.personalize
    campaign = small_group["aws-user-personalization"]
    old = small_group["aws-user-personalization:version"]
    new = train(
        p,
        small_group["group"],
        "aws-user-personalization",
        solutionConfig={"algorithmHyperParameters": {"hidden_dimension": "32"}},
    )
    errors: list[BaseException] = []
    served = 0
    stop = threading.Event()

    def hammer() -> None:
        nonlocal served
        rt = boto_clients(engine.url).runtime
        while not stop.is_set():
            try:
                assert (
                    len(
                        rt.get_recommendations(campaignArn=campaign, userId="u9", numResults=5)[
                            "itemList"
                        ]
                    )
                    == 5
                )
                served += 1
            except BaseException as exc:  # every failure during the switch counts
                errors.append(exc)

    thread = threading.Thread(target=hammer)
    thread.start()
    try:
        assert (
            p.update_campaign(campaignArn=campaign, solutionVersionArn=new)["campaignArn"]
            == campaign
        )
        update = p.describe_campaign(campaignArn=campaign)["campaign"]["latestCampaignUpdate"]
        assert update["status"] == "CREATE PENDING"
        assert update["solutionVersionArn"] == new
        with_update = wait_for(
            lambda **kw: {"u": p.describe_campaign(**kw)["campaign"]["latestCampaignUpdate"]},
            "u",
            campaignArn=campaign,
        )
        assert with_update["status"] == "ACTIVE"
    finally:
        stop.set()
        thread.join()
    assert not errors, errors[:3]
    assert served > 10
    described = p.describe_campaign(campaignArn=campaign)["campaign"]
    assert described["status"] == "ACTIVE"
    assert described["solutionVersionArn"] == new
    # And back, so the shared campaign ends where it started.
    p.update_campaign(campaignArn=campaign, solutionVersionArn=old)
    wait_for(
        lambda **kw: {"u": p.describe_campaign(**kw)["campaign"]["latestCampaignUpdate"]},
        "u",
        campaignArn=campaign,
    )
    assert p.describe_campaign(campaignArn=campaign)["campaign"]["solutionVersionArn"] == old
