"""DescribeRecipe and ListRecipes, from the recipes the engine implements."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from services.engine.arns import name_of, recipe_arn
from services.engine.recipes import RECIPES, Recipe
from services.engine.wire import validate
from services.engine.wire.errors import InvalidInput, InvalidNextToken, NotFound

if TYPE_CHECKING:
    from services.engine.context import EngineContext

# AWS's legacy HRNN variants. The engine has no metadata or cold-start HRNN, so they are
# neither listed nor accepted (they used to be aliases that trained plain aws-hrnn, which
# told a client it had what it had not). Solutions created with them before keep training
# aws-hrnn (`trained_recipe`); nothing new can use them.
LEGACY_ALIASES = {"aws-hrnn-coldstart": "aws-hrnn", "aws-hrnn-metadata": "aws-hrnn"}
FEATURE_TRANSFORMATIONS = {
    "aws-sims": "sims",
    "aws-popularity-count": "popularity-count",
}
# Recipes are part of the service, not created by users: one fixed date.
PUBLISHED = 1543622400.0  # 2018-12-01


def trained_recipe(arn: str) -> str:
    """The recipe a stored solution's `recipe_arn` trains (a legacy alias: aws-hrnn)."""
    name = name_of(arn)
    return LEGACY_ALIASES.get(name, name)


def recipe_from_arn(arn: str) -> tuple[str, Recipe]:
    name = name_of(arn)
    if name in LEGACY_ALIASES and arn == recipe_arn(name):
        raise InvalidInput(
            f"Recipe {name} is not supported by this engine: it has no metadata or cold-start "
            f"HRNN; use {recipe_arn(LEGACY_ALIASES[name])} or "
            f"{recipe_arn('aws-user-personalization')}."
        )
    recipe = RECIPES.get(name)
    if recipe is None or arn != recipe_arn(name):
        raise NotFound.arn(arn)
    return name, recipe


def _names() -> list[str]:
    return sorted(RECIPES)


async def describe_recipe(ctx: EngineContext, body: dict[str, Any]) -> dict[str, Any]:
    arn = body["recipeArn"]
    name, recipe = recipe_from_arn(arn)
    algorithm = name
    return {
        "recipe": {
            "name": name,
            "recipeArn": arn,
            "algorithmArn": f"arn:aws:personalize:::algorithm/{algorithm}",
            "featureTransformationArn": "arn:aws:personalize:::feature-transformation/"
            + FEATURE_TRANSFORMATIONS.get(algorithm, "JSON-percentile-filtering"),
            "status": "ACTIVE",
            "description": recipe.description,
            "recipeType": recipe.recipe_type,
            "creationDateTime": PUBLISHED,
            "lastUpdatedDateTime": PUBLISHED,
        }
    }


async def list_recipes(ctx: EngineContext, body: dict[str, Any]) -> dict[str, Any]:
    domain = body.get("domain")
    limit = body.get("maxResults") or validate.DEFAULT_MAX_RESULTS
    token = body.get("nextToken")
    names = [] if domain else _names()  # no domain (recommender) recipes here
    start = 0
    if token:
        if token not in names:
            raise InvalidNextToken("The nextToken is not valid.")
        start = names.index(token)
    page = names[start : start + limit]
    result: dict[str, Any] = {
        "recipes": [
            {
                "name": n,
                "recipeArn": recipe_arn(n),
                "status": "ACTIVE",
                "creationDateTime": PUBLISHED,
                "lastUpdatedDateTime": PUBLISHED,
            }
            for n in page
        ]
    }
    if start + limit < len(names):
        result["nextToken"] = names[start + limit]
    return result


OPERATIONS = {"DescribeRecipe": describe_recipe, "ListRecipes": list_recipes}
