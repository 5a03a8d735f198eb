"""Fitting a recipe in-process, as every accuracy benchmark does."""

from __future__ import annotations

import time

from services.engine.recipes import get_recipe
from services.engine.recipes.base import TrainedModel, TrainingData


def fit(
    recipe_name: str,
    data: TrainingData,
    hp: dict[str, str],
    seed: int,
    *,
    known_only: bool = False,
) -> tuple[TrainedModel, float]:
    """(the model `recipe_name` trains on `data` with raw hyperparameters `hp`, seconds).

    `known_only`: names the recipe does not list are left out (one set of values shared by
    several recipes); otherwise they are an error, as CreateSolution makes them."""
    recipe = get_recipe(recipe_name)
    if known_only:
        known = {h.name for h in recipe.hyperparameters}
        hp = {key: value for key, value in hp.items() if key in known}
    started = time.perf_counter()
    model = recipe.fit(data, hyperparameters=recipe.parse_hyperparameters(hp), seed=seed)
    return model, time.perf_counter() - started
