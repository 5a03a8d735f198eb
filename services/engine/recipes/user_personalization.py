"""aws-user-personalization: an item-to-item model driven by the user's current history.

The model is a closed-form item autoencoder (EASE, Steck 2019): with X the binary
users × items matrix, B = argmin ||X − XB||² + λ||B||² with diag(B) = 0, solved as
P = (XᵀX + λI)⁻¹, B = −P / diag(P). A user's scores are the recency-weighted sum of the rows
of B for the items in the history passed at request time (training events plus PutEvents),
so new events change the answer at once and users unseen at training time get personal
recommendations. Nothing is stored per user.

Two training-time refinements (bench/accuracy.py table 2, chosen on validation splits):
the zero-diagonal constraint is relaxed to diag(B) ≤ `diagonal_bound` (RDLAE, Moon et al.
2023; see `ease`), and each user's row of X is weighted (mean length / length)^β
(`user_degree_exponent`) so that the heaviest users do not dominate XᵀX. Together they
raise full-ranking P@10 from 0.4285 to 0.433 on ml-100k with metadata; the request path
is unchanged (both only change B).

Metadata (optional): item tokens (GENRES, YEAR decade) enter as extra "virtual user" rows
(weight `item_metadata_weight`), so items sharing genres look alike; user tokens (AGE band,
GENDER, OCCUPATION) enter as extra input columns (weight `user_metadata_weight`), so
the model learns which items each token predicts. The user's item-token profile (how many
of the history's items carry each genre / decade, weight `item_profile_weight`) enters as
more input columns: one shared, cheaply regularised path "likes many dramas → this drama",
which the per-item weights can only learn item by item (+0.002 P@10 on the ml-100k
full-ranking benchmark, bench/accuracy.py table 2).

Above `max_dense_items` catalogue columns, the O(n³) inversion is too slow on small machines
and the recipe switches to implicit's ALS (`factors`, `regularization`, `alpha`,
`iterations`): the user vector is folded in from the history at request time with the
ridge solution u = (YᵀY + ρI)⁻¹ Σ wᵢ yᵢ, precomputed per item as Z = Y (YᵀY + ρI)⁻¹ so a
request costs one gather and one n × f product.

Sequence (dense mode): the relevant items of the Personalize protocol are each user's newest,
and a history's newest events predict them best, so the scores are blended with an
item-to-item transition kernel (`transitions.py`: which items users pick within
`transition_window` steps after which), read from the newest events with a steep recency
decay (`transition_half_life`) and weighted `transition_weight` (0, the default, turns it
off; see COMMON_HYPERPARAMETERS). With weight 0.5, validation on training users only
(bench/up_search.py): P@10 2.10× → 2.22× and NDCG@10 2.59× → 2.72× popularity-with-the-
input-removed on ml-100k (test folds: NDCG@10 2.32× → 2.45×, P@10 flat).

Repeat consumption: if fewer than 1 % of training events repeat an item the user already had
(MovieLens: none), items already in the history are moved to the end of the ranking.

Scores: softmax over the whole catalogue of the standardised item scores.

This module trains; the request path (scores from a history, the per-history score memo
the runtime enables) is `item_scoring.ItemScoringModel`.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from services.engine.recipes.base import (
    Hyperparameter,
    ProgressCallback,
    Recipe,
    RecipeType,
    TrainedModel,
    TrainingData,
)
from services.engine.recipes.features import one_hot
from services.engine.recipes.item_scoring import ItemScoringModel
from services.engine.recipes.scoring import (
    distinct_user_counts,
    repeat_rate,
    user_item_matrix,
)
from services.engine.recipes.transitions import transition_kernel

REPEAT_THRESHOLD = 0.01


class UserPersonalizationModel(ItemScoringModel):
    recipe: ClassVar[str] = "aws-user-personalization"
    recipe_type: ClassVar[RecipeType] = "USER_PERSONALIZATION"


COMMON_HYPERPARAMETERS: tuple[Hyperparameter, ...] = (
    # Personalize's names. hidden_dimension is the factor count of the large-catalogue
    # (ALS) mode; bptt is accepted for compatibility (an item model has no recurrence).
    Hyperparameter("hidden_dimension", "149", "integer", 32, 256),
    Hyperparameter("bptt", "32", "integer", 2, 32),
    Hyperparameter("recency_mask", "true", "categorical", choices=("true", "false")),
    Hyperparameter("min_user_history_length_percentile", "0.0", "continuous", 0.0, 1.0),
    Hyperparameter("max_user_history_length_percentile", "0.99", "continuous", 0.0, 1.0),
    # Our own.
    Hyperparameter("lambda_", "400", "continuous", 1.0, 100000.0),
    Hyperparameter("dropout", "0.3", "continuous", 0.0, 0.9),
    Hyperparameter("diagonal_bound", "0.5", "continuous", 0.0, 1.0),
    Hyperparameter("user_degree_exponent", "0.25", "continuous", 0.0, 1.0),
    Hyperparameter("recency_half_life", "10", "continuous", 1.0, 100000.0),
    Hyperparameter("item_metadata_weight", "2", "continuous", 0.0, 100.0),
    Hyperparameter("user_metadata_weight", "0.5", "continuous", 0.0, 100.0),
    Hyperparameter("item_profile_weight", "0.1", "continuous", 0.0, 100.0),
    Hyperparameter("max_dense_items", "12000", "integer", 1, 100000),
    Hyperparameter("popularity_penalty", "0.5", "continuous", 0.0, 10.0),
    # The transition kernel (transitions.py; dense mode only). Off by default: it helps when
    # the next events are what matters (Personalize protocol: 0.5) and costs full-ranking
    # accuracy when held-out items are random ones (full-ranking P@10 0.426 → 0.399).
    Hyperparameter("transition_weight", "0", "continuous", 0.0, 10.0),
    Hyperparameter("transition_window", "5", "integer", 1, 50),
    Hyperparameter("transition_half_life", "3", "continuous", 1.0, 100000.0),
    Hyperparameter("regularization", "5", "continuous", 0.0, 1000.0),
    Hyperparameter("alpha", "10", "continuous", 0.0, 1000.0),
    Hyperparameter("iterations", "15", "integer", 1, 100),
)


def filter_users_by_history(data: TrainingData, low: float, high: float) -> np.ndarray:
    """Indices of users whose history length lies within the [low, high] percentiles."""
    lengths = np.bincount(data.users, minlength=data.n_users)
    active = lengths > 0
    if not active.any():
        return np.flatnonzero(active)
    lo, hi = np.quantile(lengths[active], [low, high])
    return np.flatnonzero(active & (lengths >= lo) & (lengths <= hi))


def fit_item_scorer(
    data: TrainingData,
    hp: dict[str, Any],
    *,
    seed: int,
    model_class: type[ItemScoringModel],
    progress: ProgressCallback | None = None,
) -> ItemScoringModel:
    """Fit the EASE (or, for large catalogues, ALS) item scorer shared by two recipes."""
    users = filter_users_by_history(
        data, hp["min_user_history_length_percentile"], hp["max_user_history_length_percentile"]
    )
    x = user_item_matrix(data)[users]
    item_feats, _ = one_hot(data.item_metadata, data.n_items)
    user_feats, user_vocab = one_hot(data.user_metadata, data.n_users)
    user_feats = user_feats[users]
    # The item-token profile columns (see the module docstring), independent of the
    # virtual-user rows' weight; none without item metadata.
    profile_tokens = (hp["item_profile_weight"] * item_feats).tocsr()
    if hp["item_profile_weight"] <= 0:
        profile_tokens = profile_tokens[:, :0]
    if hp["user_metadata_weight"] <= 0:
        user_feats, user_vocab = user_feats[:, :0], []
    if hp["item_metadata_weight"] <= 0:
        item_feats = item_feats[:, :0]
    n_items = data.n_items
    half_life = hp["recency_half_life"] if hp["recency_mask"] == "true" else 0.0
    exclude_seen = repeat_rate(data) < REPEAT_THRESHOLD
    counts = distinct_user_counts(data)
    n_cols = n_items + user_feats.shape[1] + profile_tokens.shape[1]
    if progress:
        progress(0.1, "building the item matrix")
    if n_cols <= hp["max_dense_items"]:
        tokens = profile_tokens
        augmented = sp.vstack(
            [
                sp.hstack([x, hp["user_metadata_weight"] * user_feats, x @ tokens]),
                sp.hstack(
                    [
                        hp["item_metadata_weight"] * item_feats.T,
                        sp.csr_matrix(
                            (item_feats.shape[1], user_feats.shape[1] + tokens.shape[1]),
                            dtype=np.float32,
                        ),
                    ]
                ),
            ]
        )
        rows = history_length_weights(x, hp["user_degree_exponent"], augmented.shape[0])
        transitions = None
        if hp["transition_weight"] > 0:
            histories = data.histories()
            transitions = transition_kernel(
                [histories[u] for u in users.tolist()],
                n_items=n_items,
                window=hp["transition_window"],
            )
        weights = ease(
            (sp.diags(rows) @ augmented).tocsr(),
            hp["lambda_"],
            hp["dropout"],
            hp["diagonal_bound"],
        )[:, :n_items]
        return model_class(
            data.item_ids,
            counts=counts,
            weights=np.ascontiguousarray(weights),
            user_vocab=user_vocab,
            item_tokens=tokens.toarray().astype(np.float32) if tokens.shape[1] else None,
            half_life=half_life,
            exclude_seen=exclude_seen,
            popularity_penalty=hp["popularity_penalty"],
            transitions=transitions,
            transition_weight=hp["transition_weight"],
            transition_half_life=hp["transition_half_life"] if half_life > 0 else 0.0,
        )
    item_factors, fold_in = als_fold_in(
        sp.hstack([x, hp["user_metadata_weight"] * user_feats]).tocsr(),
        factors=hp["hidden_dimension"],
        regularization=hp["regularization"],
        alpha=hp["alpha"],
        iterations=hp["iterations"],
        seed=seed,
    )
    return model_class(
        data.item_ids,
        counts=counts,
        item_factors=item_factors[:n_items],
        fold_in=fold_in,
        user_vocab=user_vocab,
        half_life=half_life,
        exclude_seen=exclude_seen,
        popularity_penalty=hp["popularity_penalty"],
    )


def history_length_weights(x: sp.csr_matrix, exponent: float, n_rows: int) -> np.ndarray:
    """Row weights (mean length / length)^β for the users' rows, 1 for the metadata rows after.

    A user with a long history adds a term per pair of their items to XᵀX, so the Gram
    matrix (and the model) follows the heaviest users; β > 0 evens that out. Dividing by
    the mean length keeps the Gram's overall scale, so λ means the same for every β.
    """
    weights = np.ones(n_rows, dtype=np.float32)
    lengths = np.diff(x.indptr).astype(np.float64)
    if exponent > 0 and lengths.any():
        active = lengths > 0
        scale = (lengths[active].mean() / np.where(active, lengths, 1.0)) ** exponent
        weights[: x.shape[0]] = np.where(active, scale, 1.0)
    return weights


def ease(
    matrix: sp.csr_matrix, lam: float, dropout: float = 0.0, diagonal_bound: float = 0.0
) -> np.ndarray:
    """EASE's closed form: B = I − P·diag(μ), P = (XᵀX + Λ)⁻¹, diag(B) set to 0 (float32 out).

    Λ = λI plus, with `dropout` p > 0, p / (1 − p) · diag(XᵀX): the emphasized denoising
    variant (EDLAE, Steck 2020), which regularises frequent items more.

    μ relaxes the zero-diagonal constraint to diag(B) ≤ ξ = `diagonal_bound` (RDLAE, Moon
    et al. 2023): μⱼ = Λⱼⱼ, the unconstrained denoising solution (G + Λ)⁻¹G, where that
    keeps Bⱼⱼ = 1 − ΛⱼⱼPⱼⱼ ≤ ξ, else (1 − ξ)/Pⱼⱼ. ξ = 0 is EASE/EDLAE's B = −P / diag(P)
    (ΛⱼⱼPⱼⱼ < 1 always). The diagonal only scores an item from itself; it is zeroed after,
    as seen items are excluded or demoted at request time anyway, but the bound shapes the
    off-diagonal weights: ξ = 0 forces every item to be rebuilt from the others only,
    which overweights them for items the data predicts poorly.
    """
    gram = (matrix.T @ matrix).toarray().astype(np.float64)
    extra = dropout / (1.0 - dropout) * np.diag(gram) if dropout > 0 else 0.0
    penalty = lam + extra * np.ones(gram.shape[0])
    gram[np.diag_indices_from(gram)] += penalty
    # Cholesky inverse: the Gram matrix plus λI is symmetric positive definite.
    from scipy.linalg import cho_factor, cho_solve

    factor = cho_factor(gram, overwrite_a=True, check_finite=False)
    p = cho_solve(factor, np.eye(gram.shape[0]), check_finite=False)
    diag = np.diag(p)
    mu = np.where(1.0 - penalty * diag <= diagonal_bound, penalty, (1.0 - diagonal_bound) / diag)
    b = -p * mu[None, :]
    np.fill_diagonal(b, 0.0)
    return b.astype(np.float32)


def als_fold_in(
    matrix: sp.csr_matrix,
    *,
    factors: int,
    regularization: float,
    alpha: float,
    iterations: int,
    seed: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Item factors Y from implicit's ALS and Z = Y (YᵀY + ρI)⁻¹ for request-time fold-in."""
    from implicit.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, "blas"):  # implicit warns (an error under pytest) otherwise
        model = AlternatingLeastSquares(
            factors=factors,
            regularization=regularization,
            alpha=alpha,
            iterations=iterations,
            random_state=seed,
        )
        model.fit(matrix, show_progress=False)
    y = np.asarray(model.item_factors, dtype=np.float64)
    gram = y.T @ y + regularization * np.eye(y.shape[1])
    z = np.linalg.solve(gram, y.T).T
    return y.astype(np.float32), z.astype(np.float32)


class UserPersonalization(Recipe):
    name: ClassVar[str] = "aws-user-personalization"
    recipe_type: ClassVar[RecipeType] = "USER_PERSONALIZATION"
    description: ClassVar[str] = (
        "Personal recommendations from the user's current history (new events count at once); "
        "an item autoencoder (EASE), or ALS for large catalogues, with optional metadata."
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
            model_class=UserPersonalizationModel,
            progress=progress,
        )
