"""The serving side of user-personalization: folded rows, the cheap softmax, the memo."""

from __future__ import annotations

import numpy as np
import pytest

from services.engine.recipes import get_recipe, item_scoring
from services.engine.recipes.base import TrainingData
from services.engine.recipes.features import user_tokens
from services.engine.recipes.item_scoring import SEEN_SCORE, ItemScoringModel, fast_std
from services.engine.recipes.scoring import recency_weights


def fit(data: TrainingData, **hp: str) -> ItemScoringModel:
    recipe = get_recipe("aws-user-personalization")
    model = recipe.fit(data, hyperparameters=recipe.parse_hyperparameters(hp), seed=3)
    assert isinstance(model, ItemScoringModel)
    return model


def twin(model: ItemScoringModel, memo_bytes: int) -> ItemScoringModel:
    """The same model rebuilt from its saved arrays, with a memo of `memo_bytes`."""
    arrays, meta = model.save_arrays()
    copy = type(model).from_arrays({**arrays, "item_ids": model.item_ids}, meta)
    copy.enable_memo(memo_bytes)
    return copy


def with_transitions(
    model: ItemScoringModel, scores: np.ndarray, history: np.ndarray
) -> np.ndarray:
    """The transition blend computed the long way (dense kernel, numpy mean and std)."""
    assert model.transitions is not None
    recent = history[-50:]
    w = recency_weights(len(recent), model.transition_half_life)
    follow = w @ model.transitions.toarray()[recent]
    unseen = np.ones(model.n_items, dtype=bool)
    unseen[history] = False

    def z(values: np.ndarray) -> np.ndarray:
        return (values - values[unseen].mean()) / values[unseen].std()

    return z(scores) + model.transition_weight * z(follow)


@pytest.fixture(scope="module")
def meta_model(small_data_with_metadata: TrainingData) -> ItemScoringModel:
    return fit(small_data_with_metadata, item_profile_weight="0.5", transition_weight="0.5")


def queries(data: TrainingData) -> list[tuple[np.ndarray, dict[str, str] | None]]:
    histories = data.histories()
    out = [(histories[u], data.user_features(u)) for u in range(0, data.n_users, 7)]
    out.append((np.empty(0, dtype=np.int64), None))  # an unknown user
    out.append((np.empty(0, dtype=np.int64), {"GENDER": "F"}))  # features only
    out.append((np.arange(data.n_items), None))  # has seen everything
    out.append((np.concatenate([histories[0], histories[1][-1:]]), None))  # one new event
    return out


def test_scores_fold_the_item_token_profile_into_one_row_per_item(
    meta_model: ItemScoringModel, small_data_with_metadata: TrainingData
) -> None:
    model = meta_model
    assert model.item_tokens is not None and model.weights is not None
    assert model.transitions is not None  # the blend is checked too
    n, n_user = model.n_items, len(model.user_vocab)
    for history, features in queries(small_data_with_metadata)[:-2]:
        tokens = user_tokens(features, model.user_vocab_index)
        # The definition, computed the long way: history rows, profile rows, token rows.
        w = recency_weights(len(history), model.half_life)
        raw = w @ model.weights[history] if len(history) else np.zeros(n, np.float32)
        if len(history):
            profile = w @ model.item_tokens[history]
            start = n + n_user
            raw = raw + profile @ model.weights[start : start + len(profile)]
        raw = raw + model.weights[tokens + n].sum(axis=0)
        if not len(history) and not len(tokens):
            expected = model.prior
        else:
            expected = raw / raw.std() - model.popularity_penalty * model.popularity_z
        if model.transitions is not None and len(history):
            expected = with_transitions(model, expected, history)
        got = model.scores(history, features)
        real = got > SEEN_SCORE
        np.testing.assert_allclose(got[real], expected[real], rtol=2e-4, atol=2e-4)
        assert not real[history].any()


@pytest.mark.parametrize("num", [1, 10, 60])
def test_probabilities_are_the_catalogue_softmax(
    meta_model: ItemScoringModel, small_data_with_metadata: TrainingData, num: int
) -> None:
    for history, features in queries(small_data_with_metadata):
        scores = meta_model.scores(history, features)
        reference = meta_model._probabilities(scores)  # the full softmax vector
        top, probabilities = meta_model.recommend(history=history, num=num, user_features=features)
        assert probabilities is not None
        np.testing.assert_allclose(probabilities, reference[top], rtol=1e-5, atol=1e-9)
        assert np.all(np.diff(probabilities) <= 1e-9)


@pytest.mark.parametrize("ranking_length", [500, 7])
def test_memoised_answers_equal_computed_ones(
    meta_model: ItemScoringModel,
    small_data_with_metadata: TrainingData,
    monkeypatch: pytest.MonkeyPatch,
    ranking_length: int,
) -> None:
    # A kept ranking shorter than the catalogue (7 of 60) exercises the filtered fallback.
    monkeypatch.setattr(item_scoring, "MAX_RESULTS", ranking_length)
    memoised = twin(meta_model, 2**20)
    rng = np.random.default_rng(0)
    n = meta_model.n_items
    masks = [None, rng.random(n) < 0.5, rng.random(n) < 0.08, np.zeros(n, dtype=bool)]
    histories = small_data_with_metadata.histories()
    # Indices the model does not know are dropped, with the memo as without.
    odd = (np.array([-1, *histories[2][:5], n + 3]), None)
    for history, features in [*queries(small_data_with_metadata), odd]:
        for num in (1, 5, 25, 60):
            for allowed in masks:
                expected = meta_model.recommend(
                    history=history, num=num, allowed=allowed, user_features=features
                )
                for _ in range(2):  # a miss, then a hit
                    got = memoised.recommend(
                        history=history, num=num, allowed=allowed, user_features=features
                    )
                    assert got[0].tolist() == expected[0].tolist()
                    np.testing.assert_allclose(got[1], expected[1], rtol=1e-6, atol=1e-12)
    assert memoised._memo is not None
    assert len(memoised._memo) == len(queries(small_data_with_metadata)) + 1


def test_a_new_event_is_a_new_memo_entry(small_data: TrainingData) -> None:
    memoised = twin(fit(small_data), 2**20)
    history = small_data.histories()[0]
    before, _ = memoised.recommend(history=history, num=5)
    after, _ = memoised.recommend(history=np.append(history, before[0]), num=5)
    assert before[0] not in after.tolist()  # just watched: no longer recommended
    again, _ = memoised.recommend(history=history, num=5)
    assert again.tolist() == before.tolist()


def test_scores_in_the_memo_are_read_only(small_data: TrainingData) -> None:
    memoised = twin(fit(small_data), 2**20)
    scored = memoised.scored(small_data.histories()[0])
    with pytest.raises(ValueError, match="read-only"):
        scored.scores[0] = 1.0


def test_fast_std_matches_numpy() -> None:
    values = np.random.default_rng(1).normal(3.0, 2.0, 5000).astype(np.float32)
    assert fast_std(values) == pytest.approx(float(values.std()), rel=1e-5)
    assert fast_std(values[:0]) == 0.0
