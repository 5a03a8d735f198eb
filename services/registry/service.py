"""Registering, changing and listing models: the checks around the data functions.

Shared by the JSON API and the admin pages so both refuse the same things the same way.
A write checks the campaign first and touches the database only once it passed, inside
the request's one transaction, so nothing is saved half-checked.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.registry import crud
from services.registry.campaigns import check_campaign
from services.registry.clients.personalize import PersonalizeClient, RecipeNameCache
from services.registry.models import Model, ModelCreate, ModelPublic, ModelType, ModelUpdate


def to_public(model: Model, recipe: str | None) -> ModelPublic:
    return ModelPublic.model_validate({**model.model_dump(), "recipe": recipe})


async def register(
    *,
    session: AsyncSession,
    personalize: PersonalizeClient,
    recipes: RecipeNameCache,
    data: ModelCreate,
) -> ModelPublic:
    await crud.check_name_free(session=session, name=data.name)
    recipe = await check_campaign(personalize, campaign_arn=data.campaign_arn, model_type=data.type)
    values = data.model_dump()
    values["type"] = data.type.value
    model = await crud.create_model(session=session, values=values)
    recipes.remember(model.campaign_arn, recipe.name)
    return to_public(model, recipe.name)


async def change(
    *,
    session: AsyncSession,
    personalize: PersonalizeClient,
    recipes: RecipeNameCache,
    model: Model,
    data: ModelUpdate,
) -> ModelPublic:
    """Apply a partial update; re-check the campaign only if its ARN or the type changes."""
    values = data.model_dump(exclude_unset=True)
    if "type" in values:
        values["type"] = ModelType(values["type"]).value
    if "name" in values:
        await crud.check_name_free(session=session, name=values["name"], except_id=model.id)
    campaign_arn = values.get("campaign_arn", model.campaign_arn)
    model_type = ModelType(values.get("type", model.type))
    recipe_name: str | None = None
    if campaign_arn != model.campaign_arn or model_type.value != model.type:
        recipe = await check_campaign(personalize, campaign_arn=campaign_arn, model_type=model_type)
        recipe_name = recipe.name
        recipes.remember(campaign_arn, recipe.name)
    model = await crud.update_model(session=session, model=model, values=values)
    if recipe_name is None:
        recipe_name = (await recipes.names([model.campaign_arn]))[model.campaign_arn]
    return to_public(model, recipe_name)


async def public_list(
    *, session: AsyncSession, recipes: RecipeNameCache, type: ModelType | None = None
) -> list[ModelPublic]:
    models = await crud.list_models(session=session, type=type)
    names = await recipes.names([m.campaign_arn for m in models])
    return [to_public(m, names[m.campaign_arn]) for m in models]


async def public_one(*, recipes: RecipeNameCache, model: Model) -> ModelPublic:
    names = await recipes.names([model.campaign_arn])
    return to_public(model, names[model.campaign_arn])
