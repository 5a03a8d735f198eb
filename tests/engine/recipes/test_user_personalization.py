"""The user-personalization model's training maths: EASE/EDLAE/RDLAE, row weights, transitions."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from services.engine.recipes import get_recipe
from services.engine.recipes.base import TrainingData
from services.engine.recipes.transitions import (
    COLUMN_EXPONENT,
    ROW_EXPONENT,
    follow_scores,
    standardised,
    transition_kernel,
)
from services.engine.recipes.user_personalization import ease, history_length_weights

LAM, DROPOUT = 3.0, 0.25


@pytest.fixture(scope="module")
def matrix() -> sp.csr_matrix:
    rng = np.random.default_rng(7)
    return sp.csr_matrix((rng.random((40, 12)) < 0.35).astype(np.float32))


def penalty_and_gram(matrix: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    gram = (matrix.T @ matrix).toarray().astype(np.float64)
    return LAM + DROPOUT / (1 - DROPOUT) * np.diag(gram), gram


def test_zero_bound_is_the_ease_closed_form(matrix):
    penalty, gram = penalty_and_gram(matrix)
    p = np.linalg.inv(gram + np.diag(penalty))
    expected = -p / np.diag(p)[None, :]
    np.fill_diagonal(expected, 0.0)
    np.testing.assert_allclose(ease(matrix, LAM, DROPOUT), expected, rtol=1e-4, atol=1e-6)


def test_loose_bound_is_the_unconstrained_denoising_solution(matrix):
    penalty, gram = penalty_and_gram(matrix)
    expected = np.linalg.solve(gram + np.diag(penalty), gram)  # DLAE: (G + Λ)⁻¹ G
    assert np.diag(expected).max() < 1.0
    np.fill_diagonal(expected, 0.0)
    np.testing.assert_allclose(
        ease(matrix, LAM, DROPOUT, diagonal_bound=1.0), expected, rtol=1e-4, atol=1e-6
    )


def test_bound_rescales_only_the_columns_it_binds(matrix):
    penalty, gram = penalty_and_gram(matrix)
    free_diagonal = np.diag(np.linalg.solve(gram + np.diag(penalty), gram))
    bound = float(np.median(free_diagonal))
    bound_cols = free_diagonal > bound
    assert 0 < bound_cols.sum() < len(bound_cols)
    relaxed = ease(matrix, LAM, DROPOUT, diagonal_bound=bound)
    # Bound columns: diag(B) = ξ exactly, i.e. the EASE column scaled by 1 − ξ.
    np.testing.assert_allclose(
        relaxed[:, bound_cols],
        (1 - bound) * ease(matrix, LAM, DROPOUT)[:, bound_cols],
        rtol=1e-4,
        atol=1e-6,
    )
    # Free columns: the unconstrained solution.
    np.testing.assert_allclose(
        relaxed[:, ~bound_cols],
        ease(matrix, LAM, DROPOUT, diagonal_bound=1.0)[:, ~bound_cols],
        rtol=1e-4,
        atol=1e-6,
    )


def test_history_length_weights_even_out_heavy_users():
    lengths = [1, 4, 0, 16]
    x = sp.csr_matrix(np.array([[1] * n + [0] * (16 - n) for n in lengths], dtype=np.float32))
    weights = history_length_weights(x, 0.5, n_rows=6)  # 2 metadata rows after the users
    mean = np.mean([1, 4, 16])
    np.testing.assert_allclose(
        weights, [mean**0.5, (mean / 4) ** 0.5, 1.0, (mean / 16) ** 0.5, 1.0, 1.0], rtol=1e-6
    )
    np.testing.assert_array_equal(history_length_weights(x, 0.0, n_rows=6), np.ones(6))


def test_new_hyperparameters_are_validated():
    recipe = get_recipe("aws-user-personalization")
    defaults = recipe.parse_hyperparameters({})
    assert defaults["diagonal_bound"] == 0.5 and defaults["user_degree_exponent"] == 0.25
    with pytest.raises(ValueError, match="diagonal_bound must be between 0 and 1"):
        recipe.parse_hyperparameters({"diagonal_bound": "2"})


def test_transition_kernel_counts_later_items_with_decay_and_discounts():
    histories = [np.array([0, 1, 2]), np.array([1, 2])]
    kernel = transition_kernel(histories, n_items=4, window=2, decay=0.5).toarray()
    counts = np.array([0.0, 0, 0, 0])
    counts[[0, 1, 2]] = [1, 2, 2]
    events = counts + 1
    pairs = np.zeros((4, 4))
    pairs[0, 1] += 1.0  # next
    pairs[1, 2] += 1.0  # next, first history
    pairs[0, 2] += 0.5  # two steps later: decay
    pairs[1, 2] += 1.0  # next, second history
    expected = pairs / events[:, None] ** ROW_EXPONENT / events[None, :] ** COLUMN_EXPONENT
    np.testing.assert_allclose(kernel, expected, rtol=1e-6)
    assert not kernel[2].any() and not kernel[:, 0].any()  # nothing follows the last item


def test_window_one_counts_only_the_next_item():
    kernel = transition_kernel([np.array([0, 1, 2, 3])], n_items=4, window=1).toarray()
    assert set(zip(*np.nonzero(kernel), strict=True)) == {(0, 1), (1, 2), (2, 3)}


def test_transitions_favour_what_follows_the_newest_event():
    # Every user watches 0, 1, 2 in that order among random others: 1 and 2 co-occur with 0
    # alike, but 1 comes right after it. The item model alone barely separates them for a
    # history ending in 0; the transition blend puts 1 ahead.
    rng = np.random.default_rng(0)
    users, items, times = [], [], []
    for user in range(60):
        filler = rng.choice(np.arange(3, 30), size=6, replace=False)
        for t, item in enumerate([*filler[:3], 0, 1, 2, *filler[3:]]):
            users.append(f"u{user}")
            items.append(f"i{item}")
            times.append(t)
    data = TrainingData.from_interactions(user_ids=users, item_ids=items, timestamps=times)
    recipe = get_recipe("aws-user-personalization")
    index = {item: i for i, item in enumerate(data.item_ids.tolist())}
    history = np.array([index["i0"]])
    on = recipe.fit(
        data, hyperparameters=recipe.parse_hyperparameters({"transition_weight": "0.5"}), seed=1
    )
    off = recipe.fit(data, hyperparameters=recipe.parse_hyperparameters({}), seed=1)
    assert off.transitions is None and on.transitions is not None
    first, second = index["i1"], index["i2"]
    on_scores, off_scores = on.scores(history), off.scores(history)
    assert on_scores[first] > on_scores[second]
    assert on_scores[first] - on_scores[second] > off_scores[first] - off_scores[second]


def test_transition_hyperparameters_are_validated():
    recipe = get_recipe("aws-user-personalization")
    defaults = recipe.parse_hyperparameters({})
    assert defaults["transition_weight"] == 0.0 and defaults["transition_window"] == 5
    assert defaults["transition_half_life"] == 3.0
    with pytest.raises(ValueError, match="transition_window must be between 1 and 50"):
        recipe.parse_hyperparameters({"transition_window": "0"})


def test_follow_scores_and_standardised_match_their_definitions():
    rng = np.random.default_rng(3)
    kernel = sp.random(30, 30, density=0.2, format="csr", random_state=4, dtype=np.float32)
    recent = np.array([4, 0, 4, 29, 7])  # a repeated event counts twice
    weights = rng.random(len(recent)).astype(np.float32)
    np.testing.assert_allclose(
        follow_scores(kernel, recent, weights), kernel[recent].T @ weights, rtol=1e-5
    )
    values = rng.normal(size=30).astype(np.float32)
    seen = np.array([0, 4, 7])
    unseen = np.ones(30, dtype=bool)
    unseen[seen] = False
    expected = (values - values[unseen].mean()) / values[unseen].std()
    np.testing.assert_allclose(standardised(values, seen), expected, rtol=1e-4, atol=1e-5)
