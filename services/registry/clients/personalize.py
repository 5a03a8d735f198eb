"""The registry's calls to the Personalize control plane (or the bundled engine).

One aiobotocore `personalize` client per process, opened in the lifespan. Each method is
one remote call; failures become the registry's errors:

    CampaignNotFound (422)     the ARN names no campaign
    UpstreamUnavailable (503)  Personalize could not be reached, timed out or failed (5xx)
    BadGateway (502)           Personalize refused the call for another reason
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

import aiohttp
from botocore.exceptions import BotoCoreError, ClientError

from services.common.errors import BadGateway, BadRequest, UpstreamUnavailable

logger = logging.getLogger(__name__)

NOT_FOUND_CODES = frozenset({"ResourceNotFoundException"})
INVALID_CODES = frozenset({"InvalidInputException", "ValidationException"})


class CampaignNotFound(BadRequest):
    """The campaign (or the version or recipe behind it) does not exist."""


@dataclass(frozen=True)
class Campaign:
    arn: str
    status: str
    solution_version_arn: str | None
    failure_reason: str | None = None


@dataclass(frozen=True)
class Recipe:
    arn: str
    name: str
    recipe_type: str


def recipe_name_of(recipe_arn: str) -> str:
    """`arn:aws:personalize:::recipe/aws-sims` → `aws-sims`."""
    return recipe_arn.rsplit("/", 1)[-1]


class PersonalizeClient:
    """Typed wrappers over the three Describe calls, with a cache for the static ones."""

    def __init__(self, client: Any) -> None:
        self._client = client
        # Recipes never change; solution versions never change their recipe.
        self._recipes: dict[str, Recipe] = {}
        self._version_recipes: dict[str, str] = {}

    async def _call(self, operation: str, what: str, **params: Any) -> dict[str, Any]:
        try:
            result: dict[str, Any] = await getattr(self._client, operation)(**params)
            return result
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = error.get("Code", "")
            message = error.get("Message", "") or code
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            if code in NOT_FOUND_CODES:
                raise CampaignNotFound(f"{what} does not exist") from None
            if code in INVALID_CODES:
                raise CampaignNotFound(f"{what} was refused by Personalize: {message}") from None
            if status >= 500 or code in ("ThrottlingException", "ServiceUnavailable"):
                raise UpstreamUnavailable(
                    f"Personalize is unavailable ({code or status}); try again later"
                ) from None
            raise BadGateway(f"Personalize refused {operation} for {what}: {message}") from None
        except (TimeoutError, BotoCoreError, aiohttp.ClientError, OSError) as exc:
            logger.warning("personalize %s failed: %s", operation, exc)
            raise UpstreamUnavailable(
                f"Personalize could not be reached ({type(exc).__name__}); "
                "nothing was saved, try again later"
            ) from None

    async def describe_campaign(self, campaign_arn: str) -> Campaign:
        answer = await self._call(
            "describe_campaign", f"campaign {campaign_arn}", campaignArn=campaign_arn
        )
        campaign = answer["campaign"]
        return Campaign(
            arn=campaign_arn,
            status=campaign.get("status", ""),
            solution_version_arn=campaign.get("solutionVersionArn"),
            failure_reason=campaign.get("failureReason"),
        )

    async def recipe_arn_of_version(self, solution_version_arn: str) -> str:
        cached = self._version_recipes.get(solution_version_arn)
        if cached:
            return cached
        answer = await self._call(
            "describe_solution_version",
            f"solution version {solution_version_arn}",
            solutionVersionArn=solution_version_arn,
        )
        recipe_arn = answer["solutionVersion"].get("recipeArn")
        if not recipe_arn:
            raise BadGateway(f"solution version {solution_version_arn} has no recipe")
        self._version_recipes[solution_version_arn] = recipe_arn
        return str(recipe_arn)

    async def describe_recipe(self, recipe_arn: str) -> Recipe:
        cached = self._recipes.get(recipe_arn)
        if cached:
            return cached
        answer = await self._call("describe_recipe", f"recipe {recipe_arn}", recipeArn=recipe_arn)
        body = answer["recipe"]
        recipe = Recipe(
            arn=recipe_arn,
            name=body.get("name") or recipe_name_of(recipe_arn),
            recipe_type=body.get("recipeType", ""),
        )
        self._recipes[recipe_arn] = recipe
        return recipe


class RecipeNameCache:
    """Campaign ARN → recipe name for model lists: brief, and never failing.

    Campaigns can be updated to a new solution version, so entries expire; failures are
    remembered for a shorter while so an unreachable Personalize does not slow every list.
    """

    def __init__(
        self,
        client: PersonalizeClient,
        *,
        ttl: float,
        failure_ttl: float,
        timeout: float,
    ) -> None:
        self._client = client
        self._ttl = ttl
        self._failure_ttl = failure_ttl
        self._timeout = timeout
        self._entries: dict[str, tuple[float, str | None]] = {}

    def remember(self, campaign_arn: str, recipe_name: str) -> None:
        self._entries[campaign_arn] = (time.monotonic() + self._ttl, recipe_name)

    async def _lookup(self, campaign_arn: str) -> str | None:
        campaign = await self._client.describe_campaign(campaign_arn)
        if not campaign.solution_version_arn:
            return None
        return recipe_name_of(
            await self._client.recipe_arn_of_version(campaign.solution_version_arn)
        )

    async def _one(self, campaign_arn: str) -> str | None:
        now = time.monotonic()
        entry = self._entries.get(campaign_arn)
        if entry and entry[0] > now:
            return entry[1]
        try:
            name = await asyncio.wait_for(self._lookup(campaign_arn), self._timeout)
        except (TimeoutError, Exception) as exc:  # a list never fails for this
            logger.info("recipe of %s unavailable: %s", campaign_arn, exc)
            self._entries[campaign_arn] = (now + self._failure_ttl, None)
            return None
        self._entries[campaign_arn] = (now + self._ttl, name)
        return name

    async def names(self, campaign_arns: list[str]) -> dict[str, str | None]:
        unique = list(dict.fromkeys(campaign_arns))
        results = await asyncio.gather(*(self._one(arn) for arn in unique))
        return dict(zip(unique, results, strict=True))
