"""aws-popularity-count: items ranked by how many distinct users interacted with them."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from services.engine.recipes.base import (
    ProgressCallback,
    Recipe,
    RecipeType,
    TrainedModel,
    TrainingData,
)
from services.engine.recipes.scoring import distinct_user_counts, ordered_top, popularity_order


class PopularityModel(TrainedModel):
    """The same list for everybody; no scores on the wire (as Personalize)."""

    recipe: ClassVar[str] = "aws-popularity-count"
    recipe_type: ClassVar[RecipeType] = "USER_PERSONALIZATION"

    def __init__(self, item_ids: np.ndarray, counts: np.ndarray) -> None:
        super().__init__(item_ids)
        self.counts = counts.astype(np.float32)
        self.order = popularity_order(self.counts)

    def recommend(
        self,
        *,
        history: np.ndarray,
        num: int,
        allowed: np.ndarray | None = None,
        user_features: dict[str, str] | None = None,
    ) -> tuple[np.ndarray, np.ndarray | None]:
        return ordered_top(self.order, num, allowed), None

    def save_arrays(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        return {"counts": self.counts}, {}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> PopularityModel:
        return cls(arrays["item_ids"], arrays["counts"])


class PopularityCount(Recipe):
    name: ClassVar[str] = "aws-popularity-count"
    recipe_type: ClassVar[RecipeType] = "USER_PERSONALIZATION"
    description: ClassVar[str] = (
        "Recommends the items most users interacted with (distinct users); the same list for "
        "everybody. The baseline to compare other recipes with."
    )

    def fit(
        self,
        data: TrainingData,
        *,
        hyperparameters: dict[str, Any],
        seed: int,
        progress: ProgressCallback | None = None,
    ) -> TrainedModel:
        return PopularityModel(data.item_ids, distinct_user_counts(data))
