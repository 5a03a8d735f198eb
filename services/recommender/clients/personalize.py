"""Calls to Amazon Personalize (or the local engine: only the endpoint differs).

Campaign calls are optional parts of a page: each has its own deadline
(CAMPAIGN_TIMEOUT_SECONDS, its one retry included) and any failure becomes a
`CampaignError` whose message ends up in that model's block, not in a 5xx.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

# Personalize answers at most 500 items per call.
MAX_RESULTS = 500


class CampaignError(Exception):
    """A campaign call failed or took too long; the message says which and why."""


@dataclass(frozen=True, slots=True)
class ScoredItem:
    item_id: str
    score: float | None


def _describe(operation: str, exc: Exception) -> str:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{operation} failed: {error.get('Code', 'Error')}: {error.get('Message', '')}"
    return f"{operation} failed: {type(exc).__name__}: {exc}"


class PersonalizeClient:
    """The process's two aiobotocore clients (runtime, control plane) behind small methods."""

    def __init__(self, runtime: Any, control: Any, *, campaign_timeout: float) -> None:
        self.runtime = runtime
        self.control = control
        self.campaign_timeout = campaign_timeout

    async def _call(self, operation: str, method: Any, timeout: float, **kwargs: Any) -> Any:
        try:
            # botocore's read timeout catches a silent socket; this bounds the whole
            # call, retry and connection waits included.
            async with asyncio.timeout(timeout):
                return await method(**kwargs)
        except TimeoutError as exc:
            raise CampaignError(f"{operation}: no answer within {timeout:g} s") from exc
        except (ClientError, BotoCoreError) as exc:
            raise CampaignError(_describe(operation, exc)) from exc

    async def recommendations(
        self,
        *,
        campaign_arn: str,
        user_id: int | None = None,
        item_id: int | None = None,
        num: int,
        filter_arn: str | None = None,
    ) -> list[ScoredItem]:
        kwargs: dict[str, Any] = {"campaignArn": campaign_arn, "numResults": min(num, MAX_RESULTS)}
        if user_id is not None:
            kwargs["userId"] = str(user_id)
        if item_id is not None:
            kwargs["itemId"] = str(item_id)
        if filter_arn:
            kwargs["filterArn"] = filter_arn
        body = await self._call(
            "GetRecommendations", self.runtime.get_recommendations, self.campaign_timeout, **kwargs
        )
        return [ScoredItem(row["itemId"], row.get("score")) for row in body.get("itemList", [])]

    async def ranking(
        self, *, campaign_arn: str, user_id: int, item_ids: list[int]
    ) -> list[ScoredItem]:
        body = await self._call(
            "GetPersonalizedRanking",
            self.runtime.get_personalized_ranking,
            self.campaign_timeout,
            campaignArn=campaign_arn,
            userId=str(user_id),
            inputList=[str(i) for i in item_ids[:MAX_RESULTS]],
        )
        return [
            ScoredItem(row["itemId"], row.get("score"))
            for row in body.get("personalizedRanking", [])
        ]

    async def solution_metrics(self, *, campaign_arn: str, timeout: float) -> dict[str, float]:
        """DescribeCampaign → its solution version → GetSolutionMetrics."""
        campaign = await self._call(
            "DescribeCampaign", self.control.describe_campaign, timeout, campaignArn=campaign_arn
        )
        version_arn = campaign["campaign"].get("solutionVersionArn")
        if not version_arn:
            raise CampaignError(f"campaign {campaign_arn} has no solution version")
        body = await self._call(
            "GetSolutionMetrics",
            self.control.get_solution_metrics,
            timeout,
            solutionVersionArn=version_arn,
        )
        return {name: float(value) for name, value in body.get("metrics", {}).items()}
