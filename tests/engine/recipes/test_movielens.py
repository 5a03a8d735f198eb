"""On the lab's data (ml-100k, ratings > 3.6), with the Personalize protocol and seed 42."""

from __future__ import annotations

import pytest

from services.engine.recipes.training import train_solution_version


@pytest.fixture(scope="module")
def popularity(lab_data):
    return train_solution_version(
        lab_data, recipe_name="aws-popularity-count", hyperparameters=None, perform_hpo=False
    )


def test_lab_data_shape(lab_data):
    assert (lab_data.n_users, lab_data.n_items, len(lab_data.users)) == (942, 1447, 55375)


def test_popularity_metrics_are_as_expected(popularity):
    metrics = popularity.metrics
    # One fixed list of 25 for every test user: coverage is 25 / 1447 by construction.
    assert metrics["coverage"] == round(25 / 1447, 4)
    # Pinned values of this split (seed 42, 94 test users); in the anchors' expected range.
    assert metrics["precision_at_10"] == 0.0191
    assert metrics["normalized_discounted_cumulative_gain_at_10"] == 0.0474
    assert 0.01 <= metrics["precision_at_25"] <= 0.05


def test_user_personalization_beats_popularity(lab_data, popularity):
    result = train_solution_version(
        lab_data, recipe_name="aws-user-personalization", hyperparameters=None, perform_hpo=False
    )
    for key in (
        "precision_at_10",
        "normalized_discounted_cumulative_gain_at_10",
        "mean_reciprocal_rank_at_25",
    ):
        assert result.metrics[key] >= 2 * popularity.metrics[key], key
    assert result.metrics["coverage"] > 5 * popularity.metrics["coverage"]
