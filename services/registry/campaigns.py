"""Check that a campaign can serve a model type before the model is saved.

The original lab app stored any ARN under any type, so a SIMS campaign registered as a
ranking model failed only when a visitor used it. Here a write looks the campaign up
(DescribeCampaign → DescribeSolutionVersion → DescribeRecipe) and refuses, with a reason,
anything that is missing, not ACTIVE, or of the wrong recipe type.
"""

from __future__ import annotations

from services.common.errors import BadRequest
from services.registry.clients.personalize import CampaignNotFound, PersonalizeClient, Recipe
from services.registry.models import ModelType

# Which Personalize recipe type serves which model type.
RECIPE_TYPE_FOR = {
    ModelType.recommendations: "USER_PERSONALIZATION",
    ModelType.ranking: "PERSONALIZED_RANKING",
    ModelType.similar_items: "RELATED_ITEMS",
}
MODEL_TYPE_FOR = {recipe_type: model_type for model_type, recipe_type in RECIPE_TYPE_FOR.items()}


class InvalidField(BadRequest):
    """A 422 that names the form field it is about, so pages can show it there."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


async def check_campaign(
    client: PersonalizeClient, *, campaign_arn: str, model_type: ModelType
) -> Recipe:
    """Return the campaign's recipe, or raise InvalidField / UpstreamUnavailable saying why."""
    try:
        campaign = await client.describe_campaign(campaign_arn)
    except CampaignNotFound as exc:
        raise InvalidField("campaign_arn", exc.message) from None
    if campaign.status != "ACTIVE":
        reason = f" ({campaign.failure_reason})" if campaign.failure_reason else ""
        raise InvalidField(
            "campaign_arn",
            f"campaign {campaign_arn} is {campaign.status or 'in an unknown state'}{reason}, "
            "not ACTIVE; register it once it is ACTIVE",
        )
    if not campaign.solution_version_arn:
        raise InvalidField("campaign_arn", f"campaign {campaign_arn} has no solution version")
    try:
        recipe_arn = await client.recipe_arn_of_version(campaign.solution_version_arn)
        recipe = await client.describe_recipe(recipe_arn)
    except CampaignNotFound as exc:
        raise InvalidField("campaign_arn", f"campaign {campaign_arn}: {exc.message}") from None
    expected = RECIPE_TYPE_FOR[model_type]
    if recipe.recipe_type != expected:
        suitable = MODEL_TYPE_FOR.get(recipe.recipe_type)
        advice = (
            f"use type '{suitable.value}'"
            if suitable
            else "no model type of the registry can use it"
        )
        raise InvalidField(
            "type",
            f"campaign {campaign_arn} uses recipe {recipe.name} "
            f"({recipe.recipe_type or 'unknown type'}), "
            f"which cannot serve model type '{model_type.value}'; {advice}",
        )
    return recipe
