"""One contract every recipe's trained model must honour (style.md point 16).

Each recipe's test module subclasses `RecipeContract` and supplies the recipe name and
(fast) hyperparameters; the model is fitted once per class on the synthetic data.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

from services.engine.recipes import get_recipe, load_model
from services.engine.recipes.base import TrainedModel, TrainingData
from tests.engine.recipes.conftest import cluster_of, item_index


def answer(model: TrainedModel, data: TrainingData, history: np.ndarray, num: int, allowed=None):
    """The model's main query, whatever its recipe type."""
    if model.recipe_type == "RELATED_ITEMS":
        item = int(history[-1]) if len(history) else None
        return model.similar_items(item=item, num=num, allowed=allowed)
    if model.recipe_type == "PERSONALIZED_RANKING":
        candidates = np.arange(data.n_items) if allowed is None else np.flatnonzero(allowed)
        ordered, scores = model.rank(history=history, candidates=candidates)
        return ordered[:num], scores[:num]
    return model.recommend(history=history, num=num, allowed=allowed)


class RecipeContract:
    recipe_name: ClassVar[str]
    hyperparameters: ClassVar[dict[str, str]] = {}
    knows_clusters: ClassVar[bool] = True  # personal recipes must find the user's cluster

    @pytest.fixture(scope="class")
    @classmethod
    def model(cls, small_data: TrainingData) -> TrainedModel:
        return cls.fit(small_data)

    @classmethod
    def fit(cls, data: TrainingData, seed: int = 7) -> TrainedModel:
        recipe = get_recipe(cls.recipe_name)
        params = recipe.parse_hyperparameters(cls.hyperparameters)
        return recipe.fit(data, hyperparameters=params, seed=seed)

    def cluster_a_history(self, data: TrainingData) -> np.ndarray:
        return np.array([item_index(data, n) for n in (3, 7, 1, 12, 5)])

    def test_answers_are_distinct_valid_items(self, model, small_data):
        items, scores = answer(model, small_data, self.cluster_a_history(small_data), 10)
        assert len(items) == 10
        assert len(set(items.tolist())) == 10
        assert all(0 <= i < small_data.n_items for i in items.tolist())
        if scores is not None:
            assert len(scores) == len(items)
            assert np.all(np.diff(scores) <= 1e-9), "scores must follow the order"

    def test_known_answer_cluster(self, model, small_data):
        items, _ = answer(model, small_data, self.cluster_a_history(small_data), 10)
        share = np.mean([cluster_of(small_data, i) == "A" for i in items.tolist()])
        if self.knows_clusters:
            assert share >= 0.8
        else:  # popularity: one list for all, from both clusters
            assert 0.2 <= share <= 0.8

    def test_allowed_mask_is_respected(self, model, small_data):
        allowed = np.zeros(small_data.n_items, dtype=bool)
        allowed[::3] = True
        items, _ = answer(model, small_data, self.cluster_a_history(small_data), 12, allowed)
        assert len(items) == min(12, int(allowed.sum()))
        assert allowed[items].all()

    def test_mask_with_few_allowed_items_returns_them_all(self, model, small_data):
        allowed = np.zeros(small_data.n_items, dtype=bool)
        allowed[[2, 40]] = True
        items, _ = answer(model, small_data, self.cluster_a_history(small_data), 25, allowed)
        assert sorted(items.tolist()) == [2, 40]

    def test_empty_history_gives_popular_items(self, model, small_data):
        items, _ = answer(model, small_data, np.array([], dtype=np.int64), 5)
        assert len(items) == 5
        popular = {item_index(small_data, n) for n in (0, 1, 2, 30, 31, 32, 3, 33)}
        assert set(items.tolist()) <= popular

    def test_save_load_round_trip_gives_identical_answers(self, model, small_data, tmp_path: Path):
        model.save(tmp_path)
        loaded = load_model(tmp_path)
        assert type(loaded) is type(model)
        assert loaded.item_ids.tolist() == model.item_ids.tolist()
        for history in (self.cluster_a_history(small_data), np.array([40, 41], dtype=np.int64)):
            a_items, a_scores = answer(model, small_data, history, 20)
            b_items, b_scores = answer(loaded, small_data, history, 20)
            assert a_items.tolist() == b_items.tolist()
            if a_scores is None:
                assert b_scores is None
            else:
                np.testing.assert_array_equal(a_scores, b_scores)

    def test_saved_files_load_without_pickle(self, model, tmp_path: Path):
        model.save(tmp_path)
        with np.load(tmp_path / "model.npz", allow_pickle=False) as npz:
            assert all(npz[key].dtype != object for key in npz.files)

    def test_unknown_hyperparameter_is_named(self):
        with pytest.raises(ValueError, match="Unknown hyperparameter.*no_such_knob"):
            get_recipe(self.recipe_name).parse_hyperparameters({"no_such_knob": "1"})

    def test_training_is_deterministic(self, small_data):
        first, second = self.fit(small_data, seed=3), self.fit(small_data, seed=3)
        arrays_a, meta_a = first.save_arrays()
        arrays_b, meta_b = second.save_arrays()
        assert meta_a == meta_b
        assert arrays_a.keys() == arrays_b.keys()
        for key in arrays_a:
            np.testing.assert_array_equal(arrays_a[key], arrays_b[key])
