"""train_solution_version: validation, metrics, HPO and reproducibility."""

from __future__ import annotations

import numpy as np
import pytest

from services.engine.evaluation import METRIC_KEYS
from services.engine.recipes.base import TrainingData
from services.engine.recipes.training import train_solution_version


def test_metrics_have_the_eight_keys_with_four_decimals(small_data):
    result = train_solution_version(
        small_data, recipe_name="aws-user-personalization", hyperparameters=None, perform_hpo=False
    )
    assert list(result.metrics) == list(METRIC_KEYS)
    assert all(round(v, 4) == v for v in result.metrics.values())
    assert result.metrics["precision_at_5"] > 0
    assert result.tuned_hyperparameters == {}
    assert result.training_seconds > 0
    assert result.model.recipe == "aws-user-personalization"


@pytest.mark.parametrize("recipe", ["aws-sims", "aws-user-personalization", "aws-popularity-count"])
def test_same_data_and_seed_give_the_same_metrics(small_data, recipe):
    runs = [
        train_solution_version(
            small_data, recipe_name=recipe, hyperparameters=None, perform_hpo=False, seed=5
        )
        for _ in range(2)
    ]
    assert runs[0].metrics == runs[1].metrics


def test_hpo_returns_the_chosen_values(small_data):
    result = train_solution_version(
        small_data,
        recipe_name="aws-sims",
        hyperparameters={"min_cointeraction_count": "2"},
        perform_hpo=True,
    )
    tuned = result.tuned_hyperparameters
    assert tuned["min_cointeraction_count"] == "2"  # the caller's value is kept
    assert tuned["popularity_discount_factor"] in {"0.3", "0.5", "0.8"}


def test_unknown_hyperparameter_is_rejected(small_data):
    with pytest.raises(ValueError, match="Unknown hyperparameter.*hidden_dim\\b"):
        train_solution_version(
            small_data,
            recipe_name="aws-hrnn",
            hyperparameters={"hidden_dim": "64"},
            perform_hpo=False,
        )


def test_out_of_range_hyperparameter_is_rejected(small_data):
    with pytest.raises(ValueError, match="hidden_dimension must be between 32 and 256, got 8"):
        train_solution_version(
            small_data,
            recipe_name="aws-hrnn",
            hyperparameters={"hidden_dimension": "8"},
            perform_hpo=False,
        )


def test_too_few_interactions_is_rejected():
    data = TrainingData.from_interactions(["u1"] * 10, [f"i{i}" for i in range(10)], np.arange(10))
    with pytest.raises(ValueError, match="at least 1000 interactions; the dataset group has 10"):
        train_solution_version(
            data, recipe_name="aws-sims", hyperparameters=None, perform_hpo=False
        )


def test_too_few_users_is_rejected():
    users = ["u1"] * 600 + ["u2"] * 600
    data = TrainingData.from_interactions(
        users, [f"i{i % 50}" for i in range(1200)], np.arange(1200)
    )
    with pytest.raises(ValueError, match="at least 25 users with 2 or more interactions; .* has 2"):
        train_solution_version(
            data, recipe_name="aws-sims", hyperparameters=None, perform_hpo=False
        )


def test_from_interactions_indexes_and_sorts():
    data = TrainingData.from_interactions(
        ["b", "a", "b", "a"],
        ["x", "y", "y", "z"],
        [5, 9, 1, 3],
        event_types=["click", "watch", "watch", "click"],
        item_metadata={"x": {"GENRES": "Comedy"}, "w": {"GENRES": "Drama"}},
        user_metadata={"a": {"AGE": "30"}},
    )
    assert data.user_ids.tolist() == ["a", "b"]
    assert data.item_ids.tolist() == ["w", "x", "y", "z"]  # "w" comes from the Items dataset
    assert data.users.tolist() == [0, 0, 1, 1]
    assert [data.item_ids[i] for i in data.items] == ["z", "y", "y", "x"]  # by user, then time
    assert data.timestamps.tolist() == [3, 9, 1, 5]
    assert data.event_types.tolist() == ["click", "watch", "watch", "click"]
    assert data.item_metadata["GENRES"].tolist() == ["Drama", "Comedy", None, None]
    assert data.user_features(0) == {"AGE": "30"} and data.user_features(1) == {}
    assert [h.tolist() for h in data.histories()] == [[3, 2], [2, 1]]


def test_hpo_tunes_user_personalization_on_training_users_only(small_data):
    result = train_solution_version(
        small_data, recipe_name="aws-user-personalization", hyperparameters=None, perform_hpo=True
    )
    tuned = result.tuned_hyperparameters
    assert tuned["lambda_"] in {"200", "400", "800"}
    assert tuned["recency_half_life"] in {"5", "20"}
    assert set(tuned) >= {"hidden_dimension", "bptt", "dropout"}  # every value is reported
