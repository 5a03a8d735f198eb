"""The user-personalization model's training maths: EASE/EDLAE/RDLAE and the row weights."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from services.engine.recipes import get_recipe
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
