"""aws-personalized-ranking as a model of its own (issue 16): a listwise-trained re-ranker.

The contract every recipe honours runs in test_recipes.py (TestPersonalizedRanking); these
tests pin what makes the ranking model different from user-personalization.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from services.engine import evaluation
from services.engine.recipes import get_recipe, load_model
from services.engine.recipes.base import TrainedModel, TrainingData
from services.engine.recipes.ranking import PersonalizedRankingModel
from services.engine.recipes.ranking_examples import probe_split
from services.engine.recipes.ranking_features import FEATURES, fit_listwise, standardise
from services.engine.recipes.training import holdout_metrics
from tests.engine.recipes.conftest import item_index

RANKING = "aws-personalized-ranking"
PERSONAL = "aws-user-personalization"


def fit(name: str, data: TrainingData, raw: dict[str, str] | None = None) -> TrainedModel:
    recipe = get_recipe(name)
    return recipe.fit(data, hyperparameters=recipe.parse_hyperparameters(raw or {}), seed=1)


def drifting_data(seed: int = 0, n_users: int = 240) -> TrainingData:
    """Every user first takes 8-13 items of the old catalogue (0-29), then 3 new releases
    (30-59): a user's next picks are new releases, whatever their long history says."""
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, 31)
    weights /= weights.sum()
    users, items, times = [], [], []
    for user in range(n_users):
        old = rng.choice(30, size=int(rng.integers(8, 14)), replace=False, p=weights)
        new = 30 + rng.choice(30, size=3, replace=False, p=weights)
        for step, item in enumerate([*old, *new]):
            users.append(f"u{user}")
            items.append(f"i{item:02d}")
            times.append(1_000_000 + step * 7 * 86400 + user)
    return TrainingData.from_interactions(users, items, times)


@pytest.fixture(scope="module")
def drifting() -> tuple[TrainingData, np.ndarray, dict[str, TrainedModel]]:
    data = drifting_data()
    train_users, test_users = evaluation.split_users(evaluation.active_users(data), 42)
    train = data.subset_users(train_users)
    return data, test_users, {name: fit(name, train) for name in (RANKING, PERSONAL)}


def test_puts_held_out_picks_above_the_user_personalization_order(drifting):
    data, test_users, models = drifting
    histories = data.histories()
    ndcg: dict[str, list[float]] = {name: [] for name in models}
    for user in test_users.tolist():
        given, held_out = evaluation.split_history(histories[user])
        candidates = np.setdiff1d(np.arange(data.n_items), given)
        for name, model in models.items():
            ordered, _ = model.rank(history=given, candidates=candidates)
            ndcg[name].append(evaluation.ndcg_at_k(ordered.tolist(), set(held_out.tolist()), 10))
    assert len(ndcg[RANKING]) == len(test_users)
    # Measured 0.53 vs 0.30: the re-ranker learns that the next picks are recent items.
    assert np.mean(ndcg[RANKING]) > np.mean(ndcg[PERSONAL]) + 0.15


def test_personalize_metrics_differ_from_user_personalization(small_data):
    metrics = {
        name: holdout_metrics(
            get_recipe(name),
            small_data,
            get_recipe(name).parse_hyperparameters({}),
            seed=42,
        )[0]
        for name in (RANKING, PERSONAL)
    }
    assert metrics[RANKING] != metrics[PERSONAL]


def test_seen_candidates_go_last_with_probability_zero(drifting):
    data, _, models = drifting
    model = models[RANKING]
    assert isinstance(model, PersonalizedRankingModel) and model.exclude_seen
    history = np.array([item_index(data, n) for n in (0, 1, 2, 3, 4, 30)])
    candidates = np.array([item_index(data, n) for n in (1, 31, 5, 0, 32, 30, 6)])
    ordered, scores = model.rank(history=history, candidates=candidates)
    seen = np.isin(ordered, history)
    assert seen.tolist() == [False] * 4 + [True] * 3
    assert abs(float(scores[~seen].sum()) - 1.0) < 1e-5 and (scores[~seen] > 0).all()
    assert (scores[seen] == 0).all()
    # Among themselves, seen items keep the model's order, not the order they were given in.
    features = model.features(history=history, candidates=ordered, fresh=~seen)
    seen_scores = (features @ model.weights)[seen]
    assert np.all(np.diff(seen_scores) <= 1e-12)


def test_the_order_is_the_linear_score_of_the_list_standardised_features(drifting):
    data, _, models = drifting
    model = models[RANKING]
    assert isinstance(model, PersonalizedRankingModel)
    history = np.array([item_index(data, n) for n in (3, 7, 1, 33)])
    candidates = np.array([item_index(data, n) for n in (0, 2, 30, 31, 40, 10)])
    ordered, scores = model.rank(history=history, candidates=candidates)
    features = model.features(history=history, candidates=ordered)
    assert features.shape == (6, len(FEATURES))
    linear = features @ model.weights
    assert np.all(np.diff(linear) <= 1e-12)
    expected = np.exp(linear - linear.max()) / np.exp(linear - linear.max()).sum()
    np.testing.assert_allclose(scores, expected, rtol=1e-5)


def test_hyperparameters_change_the_fit(small_data):
    default = fit(RANKING, small_data)
    shrunk = fit(RANKING, small_data, {"ranking_regularization": "100"})
    fewer = fit(RANKING, small_data, {"ranking_negatives": "3"})
    assert isinstance(default, PersonalizedRankingModel)
    assert isinstance(shrunk, PersonalizedRankingModel)
    assert isinstance(fewer, PersonalizedRankingModel)
    assert np.linalg.norm(shrunk.weights) < 0.2 * np.linalg.norm(default.weights)
    assert not np.allclose(fewer.weights, default.weights)
    # The item scorer's own hyperparameters reach the scorer inside.
    lam = fit(RANKING, small_data, {"lambda_": "5"})
    assert isinstance(lam, PersonalizedRankingModel)
    assert not np.allclose(lam.scorer.weights, default.scorer.weights)


def test_round_trip_keeps_weights_and_seen_rule(drifting, tmp_path: Path):
    _, _, models = drifting
    model = models[RANKING]
    model.save(tmp_path)
    loaded = load_model(tmp_path)
    assert isinstance(loaded, PersonalizedRankingModel)
    np.testing.assert_array_equal(loaded.weights, model.weights)
    assert loaded.exclude_seen == model.exclude_seen


def test_probe_split_holds_out_each_users_newest_tenth(small_data):
    inputs, positives = probe_split(small_data)
    histories = small_data.histories()
    kept = inputs.histories()
    for user in range(small_data.n_users):
        given, held_out = evaluation.split_history(histories[user])
        assert kept[user].tolist() == given.tolist()
        assert positives[user].tolist() == held_out.tolist()


def test_listwise_fit_recovers_the_informative_feature():
    rng = np.random.default_rng(0)
    lists, masks = [], []
    for _ in range(200):
        x = rng.normal(size=(20, 2))
        lists.append(x)
        mask = np.zeros(20, dtype=bool)
        mask[int(np.argmax(x[:, 0] + 0.1 * rng.normal(size=20)))] = True
        masks.append(mask)
    weights = fit_listwise(lists=lists, positives=masks, l2=0.001)
    assert weights[0] > 1.0 and abs(weights[1]) < 0.3 * weights[0]


def test_standardise_zeroes_constant_features():
    raw = np.array([[1.0, 5.0], [3.0, 5.0]])
    np.testing.assert_allclose(standardise(raw=raw, reference=raw), [[-1.0, 0.0], [1.0, 0.0]])
