"""aws-item-affinity and aws-item-attribute-affinity: USER_SEGMENTATION recipes.

A segment is the users most likely to interact with an item (item affinity) or with items
carrying some attributes (item-attribute affinity). Both are trained as the
user-personalization item scorer (`user_personalization.fit_item_scorer`: EASE, or ALS for
large catalogues, with the same hyperparameters), so a user's affinity is read from the same
probabilities GetRecommendations would give them: P(item | the user's current history), the
softmax over the catalogue (items the user already has count 0 when repeats are rare).
For an attribute query the affinity is the probability mass of the matching items.
Batch segment jobs (`services/engine/batch.py`) rank every user of the dataset group by it.

Training and GetSolutionMetrics follow the other recipes (the Personalize protocol on
held-out users: `recommend` is the scorer's); Personalize's own segmentation metrics
(hits and recall at 1 % of users) are not computed.
"""

from __future__ import annotations

from typing import Any, ClassVar

from services.engine.recipes.base import (
    Hyperparameter,
    ProgressCallback,
    Recipe,
    RecipeType,
    TrainedModel,
    TrainingData,
)
from services.engine.recipes.item_scoring import ItemScoringModel
from services.engine.recipes.user_personalization import COMMON_HYPERPARAMETERS, fit_item_scorer


class ItemAffinityModel(ItemScoringModel):
    recipe: ClassVar[str] = "aws-item-affinity"
    recipe_type: ClassVar[RecipeType] = "USER_SEGMENTATION"


class ItemAttributeAffinityModel(ItemScoringModel):
    recipe: ClassVar[str] = "aws-item-attribute-affinity"
    recipe_type: ClassVar[RecipeType] = "USER_SEGMENTATION"


class _Affinity(Recipe):
    recipe_type: ClassVar[RecipeType] = "USER_SEGMENTATION"
    hyperparameters: ClassVar[tuple[Hyperparameter, ...]] = COMMON_HYPERPARAMETERS
    model_class: ClassVar[type[ItemScoringModel]]

    def fit(
        self,
        data: TrainingData,
        *,
        hyperparameters: dict[str, Any],
        seed: int,
        progress: ProgressCallback | None = None,
    ) -> TrainedModel:
        return fit_item_scorer(
            data, hyperparameters, seed=seed, model_class=self.model_class, progress=progress
        )


class ItemAffinity(_Affinity):
    name: ClassVar[str] = "aws-item-affinity"
    description: ClassVar[str] = (
        "User segments: the users most likely to interact with each item of a batch segment "
        "job's input, by the user-personalization scorer's probability."
    )
    model_class: ClassVar[type[ItemScoringModel]] = ItemAffinityModel


class ItemAttributeAffinity(_Affinity):
    name: ClassVar[str] = "aws-item-attribute-affinity"
    description: ClassVar[str] = (
        "User segments: the users most likely to interact with items having the attributes of "
        "each line of a batch segment job's input (ITEMS.<FIELD> conditions)."
    )
    model_class: ClassVar[type[ItemScoringModel]] = ItemAttributeAffinityModel
