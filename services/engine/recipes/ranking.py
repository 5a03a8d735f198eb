"""aws-personalized-ranking: orders a given list of items for a user.

It fits the same history-driven item scorer as aws-user-personalization and returns the
candidates by descending score, with a softmax over the candidates only.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from services.engine.recipes.base import (
    Hyperparameter,
    ProgressCallback,
    Recipe,
    RecipeType,
    TrainedModel,
    TrainingData,
)
from services.engine.recipes.item_scoring import ItemScoringModel
from services.engine.recipes.user_personalization import (
    COMMON_HYPERPARAMETERS,
    fit_item_scorer,
)


class PersonalizedRankingModel(ItemScoringModel):
    recipe: ClassVar[str] = "aws-personalized-ranking"
    recipe_type: ClassVar[RecipeType] = "PERSONALIZED_RANKING"

    def recommend(
        self,
        *,
        history: np.ndarray,
        num: int,
        allowed: np.ndarray | None = None,
        user_features: dict[str, str] | None = None,
    ) -> tuple[np.ndarray, np.ndarray | None]:
        # A ranking campaign answers GetPersonalizedRanking only, as in Personalize.
        return TrainedModel.recommend(
            self, history=history, num=num, allowed=allowed, user_features=user_features
        )


class PersonalizedRanking(Recipe):
    name: ClassVar[str] = "aws-personalized-ranking"
    recipe_type: ClassVar[RecipeType] = "PERSONALIZED_RANKING"
    description: ClassVar[str] = (
        "Re-ranks a list of items for a user from the user's current history; scores are a "
        "softmax over the list."
    )
    hyperparameters: ClassVar[tuple[Hyperparameter, ...]] = COMMON_HYPERPARAMETERS

    def fit(
        self,
        data: TrainingData,
        *,
        hyperparameters: dict[str, Any],
        seed: int,
        progress: ProgressCallback | None = None,
    ) -> TrainedModel:
        return fit_item_scorer(
            data,
            hyperparameters,
            seed=seed,
            model_class=PersonalizedRankingModel,
            progress=progress,
        )
