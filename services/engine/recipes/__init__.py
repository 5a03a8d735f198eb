"""The recipes the engine offers, by name, and loading of trained models."""

from __future__ import annotations

import json
from pathlib import Path

from services.engine.recipes.base import Recipe, TrainedModel, TrainingData
from services.engine.recipes.hrnn import Hrnn, HrnnModel
from services.engine.recipes.item_affinity import (
    ItemAffinity,
    ItemAffinityModel,
    ItemAttributeAffinity,
    ItemAttributeAffinityModel,
)
from services.engine.recipes.popularity import PopularityCount, PopularityModel
from services.engine.recipes.ranking import PersonalizedRanking, PersonalizedRankingModel
from services.engine.recipes.similar_items import SimilarItems, SimilarItemsModel
from services.engine.recipes.sims import Sims, SimsModel
from services.engine.recipes.user_personalization import (
    UserPersonalization,
    UserPersonalizationModel,
)

__all__ = [
    "MODELS",
    "RECIPES",
    "Recipe",
    "TrainedModel",
    "TrainingData",
    "get_recipe",
    "load_model",
]

RECIPES: dict[str, Recipe] = {
    recipe.name: recipe
    for recipe in (
        UserPersonalization(),
        Hrnn(),
        Sims(),
        SimilarItems(),
        PersonalizedRanking(),
        PopularityCount(),
        ItemAffinity(),
        ItemAttributeAffinity(),
    )
}

MODELS: dict[str, type[TrainedModel]] = {
    model.recipe: model
    for model in (
        UserPersonalizationModel,
        HrnnModel,
        SimsModel,
        SimilarItemsModel,
        PersonalizedRankingModel,
        PopularityModel,
        ItemAffinityModel,
        ItemAttributeAffinityModel,
    )
}


def get_recipe(name: str) -> Recipe:
    """The recipe called `name` (e.g. "aws-sims"); KeyError names the known ones."""
    try:
        return RECIPES[name]
    except KeyError:
        raise KeyError(f"Unknown recipe {name!r}; known: {', '.join(sorted(RECIPES))}") from None


def load_model(directory: Path) -> TrainedModel:
    """Load a model saved with `TrainedModel.save`, dispatching on model.json's "recipe"."""
    recipe = json.loads((Path(directory) / "model.json").read_text())["recipe"]
    try:
        model_class = MODELS[recipe]
    except KeyError:
        raise ValueError(f"{directory} holds a model of unknown recipe {recipe!r}") from None
    return model_class.load(Path(directory))
