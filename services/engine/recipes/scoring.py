"""Small numeric helpers every recipe shares: top-k selection, softmax, interaction matrices.

They are written by hand because they are a few lines of numpy on the serving hot path,
where a library call would add overhead rather than save code.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from services.engine.recipes.base import TrainingData

NEG_INF = np.float32(-np.inf)


def top_k(scores: np.ndarray, num: int, allowed: np.ndarray | None = None) -> np.ndarray:
    """Indices of the `num` highest scores (best first), skipping disallowed items.

    Ties break by the lower index, so answers are deterministic. argpartition keeps
    it O(n) instead of a full sort of the catalogue.
    """
    if allowed is not None:
        scores = np.where(allowed, scores, NEG_INF)
        num = min(num, int(np.count_nonzero(allowed)))
    num = min(num, len(scores))
    if num <= 0:
        return np.empty(0, dtype=np.int64)
    if num < len(scores):
        part = np.argpartition(-scores, num - 1)[:num]
    else:
        part = np.arange(len(scores))
    # Sort the selected block by (-score, index): lexsort keeps ties deterministic.
    return part[np.lexsort((part, -scores[part]))]


def softmax(scores: np.ndarray) -> np.ndarray:
    """Softmax over the given scores (float64 for the sum, float32 out)."""
    finite = np.isfinite(scores)
    if not finite.any():
        return np.full(len(scores), 1.0 / max(len(scores), 1), dtype=np.float32)
    shifted = np.where(finite, scores - scores[finite].max(), -np.inf).astype(np.float64)
    exp = np.exp(shifted)
    return (exp / exp.sum()).astype(np.float32)


def ordered_top(order: np.ndarray, num: int, allowed: np.ndarray | None) -> np.ndarray:
    """The first `num` entries of a precomputed ranking that the mask allows."""
    if allowed is None:
        return order[:num]
    return order[allowed[order]][:num]


def user_item_matrix(
    data: TrainingData, *, binary: bool = True, dtype: type = np.float32
) -> sp.csr_matrix:
    """Users × items CSR of the interactions; repeated events count once when binary."""
    ones = np.ones(len(data.users), dtype=dtype)
    matrix = sp.csr_matrix(
        (ones, (data.users, data.items)), shape=(data.n_users, data.n_items), dtype=dtype
    )
    matrix.sum_duplicates()
    if binary:
        matrix.data[:] = 1
    return matrix


def distinct_user_counts(data: TrainingData) -> np.ndarray:
    """Per item, the number of distinct users who interacted with it."""
    pairs = np.unique(data.users.astype(np.int64) * data.n_items + data.items)
    return np.bincount(pairs % data.n_items, minlength=data.n_items).astype(np.float32)


def popularity_order(counts: np.ndarray) -> np.ndarray:
    """Items by descending count, ties by index."""
    return np.lexsort((np.arange(len(counts)), -counts)).astype(np.int32)


def recency_weights(length: int, half_life: float) -> np.ndarray:
    """Weights of a chronological history: the newest event 1, halving every `half_life` events.

    half_life <= 0 means no decay (all ones).
    """
    if half_life <= 0:
        return np.ones(length, dtype=np.float32)
    age = np.arange(length - 1, -1, -1, dtype=np.float32)
    return np.power(np.float32(0.5), age / np.float32(half_life)).astype(np.float32)


def repeat_rate(data: TrainingData) -> float:
    """Share of interactions that repeat an item the user already had (0 on MovieLens)."""
    if len(data.users) == 0:
        return 0.0
    pairs = np.unique(data.users.astype(np.int64) * data.n_items + data.items)
    return 1.0 - len(pairs) / len(data.users)
