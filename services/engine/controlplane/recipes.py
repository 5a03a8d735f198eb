"""DescribeRecipe and ListRecipes, from the recipes the engine implements."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from services.engine.arns import name_of, recipe_arn
from services.engine.recipes import RECIPES, Recipe
from services.engine.wire import validate
from services.engine.wire.errors import NotFound

if TYPE_CHECKING:
    from services.engine.context import EngineContext

# Legacy names the lab notebook lists; they train the hierarchical RNN recipe.
ALIASES = {"aws-hrnn-coldstart": "aws-hrnn", "aws-hrnn-metadata": "aws-hrnn"}
FEATURE_TRANSFORMATIONS = {
    "aws-sims": "sims",
    "aws-popularity-count": "popularity-count",
}
# Recipes are part of the service, not created by users: one fixed date.
PUBLISHED = 1543622400.0  # 2018-12-01


def resolve(name: str) -> Recipe | None:
    """The recipe behind a recipe name or legacy alias (None if unknown)."""
    return RECIPES.get(ALIASES.get(name, name))


def recipe_from_arn(arn: str) -> tuple[str, Recipe]:
    name = name_of(arn)
    recipe = resolve(name)
    if recipe is None or arn != recipe_arn(name):
        raise NotFound.arn(arn)
    return name, recipe


def _names() -> list[str]:
    return sorted([*RECIPES, *ALIASES])


async def describe_recipe(ctx: EngineContext, body: dict[str, Any]) -> dict[str, Any]:
    arn = validate.required_arn(body, "recipeArn")
    name, recipe = recipe_from_arn(arn)
    algorithm = ALIASES.get(name, name)
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
    validate.string(body, "recipeProvider", enum=("SERVICE",))
    domain = validate.string(body, "domain", enum=validate.DOMAINS)
    limit = validate.max_results(body)
    token = validate.next_token(body)
    names = [] if domain else _names()  # no domain (recommender) recipes here
    start = 0
    if token:
        if token not in names:
            from services.engine.wire.errors import InvalidNextToken

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
