"""What aws-personalized-ranking sees of each candidate, and the listwise fit of its weights.

A candidate is described by a few features, each standardised *within the list* being
ranked (mean 0, spread 1 over the list's not-yet-seen candidates), so that one weight
vector adapts to the list: among 25 popular comedies popularity differs little and the
history-driven score decides; over the whole catalogue popularity spreads widely.

Features (`FEATURES`, in this order):
- `history_score`: the user-personalization scorer's score of the item from the whole
  recency-weighted history (the EASE item-to-item model);
- `recent_score`: the same scorer from the newest `RECENT_ITEMS` events only: what the
  user is watching now, which the long history averages away;
- `popularity`: log(1 + distinct users of the item);
- `popularity_by_length`: popularity × log(1 + history length) / 5, so that the weight
  of popularity can fall (or rise) with how much the model knows of the user;
- `item_time`: the mean time of the item's training interactions: films in fashion when
  the data ends are likelier next picks than old favourites.

The weights are fitted by `fit_listwise`: a softmax over each training list, maximising
the mean log-probability of the list's positives (ListNet-style top-one loss, Cao et al.
2007), with an L2 penalty. The same softmax is what GetPersonalizedRanking returns.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize

FEATURES = (
    "history_score",
    "recent_score",
    "popularity",
    "popularity_by_length",
    "item_time",
)
RECENT_ITEMS = 5
LENGTH_SCALE = 5.0  # log(1 + 150 events) ≈ 5: keeps the product on the other features' scale


def standardise(*, raw: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """`raw` (rows × features) centred and scaled by the mean and spread of `reference` rows.

    A feature that does not vary over the reference rows becomes 0 (it cannot order them).
    """
    if len(reference) == 0:
        return np.zeros_like(raw)
    mean = reference.mean(axis=0)
    spread = reference.std(axis=0)
    scaled = (raw - mean) / np.where(spread > 1e-12, spread, 1.0)
    return np.where(spread > 1e-12, scaled, 0.0).astype(np.float64)


def list_features(
    *,
    history_scores: np.ndarray,
    recent_scores: np.ndarray,
    log_popularity: np.ndarray,
    item_time: np.ndarray,
    history_length: int,
    fresh: np.ndarray,
) -> np.ndarray:
    """The candidates' features (candidates × FEATURES) from per-candidate arrays, each
    standardised over the list's `fresh` (not yet seen) candidates."""
    raw = np.column_stack([history_scores, recent_scores, log_popularity, item_time])
    features = standardise(raw=raw.astype(np.float64), reference=raw[fresh] if fresh.any() else raw)
    length_factor = np.log1p(history_length) / LENGTH_SCALE
    return np.column_stack([features[:, :3], features[:, 2] * length_factor, features[:, 3:]])


def fit_listwise(*, lists: list[np.ndarray], positives: list[np.ndarray], l2: float) -> np.ndarray:
    """Weights maximising Σ over lists of the mean log-softmax probability of its positives.

    `lists[k]` is a (candidates × features) matrix, `positives[k]` a boolean mask over its
    rows with at least one True. Convex in the weights, so L-BFGS finds the optimum.
    """
    if not lists:
        return np.zeros(len(FEATURES))
    sizes = np.array([len(x) for x in lists])
    width = int(sizes.max())
    n_features = lists[0].shape[1]
    x = np.zeros((len(lists), width, n_features))
    valid = np.zeros((len(lists), width), dtype=bool)
    target = np.zeros((len(lists), width))
    for k, (rows, mask) in enumerate(zip(lists, positives, strict=True)):
        x[k, : len(rows)] = rows
        valid[k, : len(rows)] = True
        target[k, : len(rows)] = mask / mask.sum()
    n = len(lists)

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        logits = np.where(valid, x @ w, -np.inf)
        peak = logits.max(axis=1, keepdims=True)
        exp = np.exp(logits - peak)
        total = exp.sum(axis=1, keepdims=True)
        log_p = np.where(valid, logits - peak - np.log(total), 0.0)
        value = -(target * log_p).sum() / n + l2 * float(w @ w)
        p = exp / total
        grad = np.einsum("kl,klf->f", p - target, x) / n + 2 * l2 * w
        return float(value), grad

    result = minimize(loss, np.zeros(n_features), jac=True, method="L-BFGS-B")
    return np.asarray(result.x, dtype=np.float64)
