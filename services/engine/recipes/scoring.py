"""Small numeric helpers every recipe shares: top-k selection, softmax, interaction matrices.

They are written by hand because they are a few lines of numpy on the serving hot path,
where a library call would add overhead rather than save code.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable

import numpy as np
import scipy.sparse as sp

from services.engine.recipes.base import TrainingData

NEG_INF = np.float32(-np.inf)


class Memo:
    """A least-recently-used map bounded by the bytes of its values.

    Written by hand because functools.lru_cache bounds the number of entries, not their
    size, and memoises a function rather than letting the caller choose the key.
    Not thread-safe: the runtime calls it from the event loop only.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[Hashable, tuple[object, int]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Hashable) -> object | None:
        entry = self._entries.get(key)
        if entry is None:
            self.misses += 1
            return None
        self.hits += 1
        self._entries.move_to_end(key)
        return entry[0]

    def put(self, key: Hashable, value: object, size: int) -> None:
        if size > self.max_bytes:
            return
        old = self._entries.pop(key, None)
        if old is not None:
            self.bytes -= old[1]
        while self.bytes + size > self.max_bytes:
            self.bytes -= self._entries.popitem(last=False)[1][1]
        self._entries[key] = (value, size)
        self.bytes += size


def top_k(scores: np.ndarray, num: int, allowed: np.ndarray | None = None) -> np.ndarray:
    """Indices of the `num` highest scores (best first), skipping disallowed items.

    Equal scores come in index order, so answers are deterministic. Partitioning keeps it
    O(n) instead of a full sort of the catalogue: this runs on every request.
    """
    if allowed is not None:
        scores = np.where(allowed, scores, NEG_INF)
        num = min(num, int(np.count_nonzero(allowed)))
    n = len(scores)
    num = min(num, n)
    if num <= 0:
        return np.empty(0, dtype=np.int64)
    if num < n:
        # The num-th highest score by partitioning the values (about twice as fast as
        # argpartition), then every item at or above it in index order: with ties at the
        # threshold, the stable sort and the cut below keep the lowest indices.
        threshold = np.partition(scores, n - num)[n - num]
        part = np.flatnonzero(scores >= threshold)
    else:
        part = np.arange(n)
    return part[np.argsort(-scores[part], kind="stable")][:num]


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


def sequence_pairs(
    users: np.ndarray,
    items: np.ndarray,
    *,
    n_items: int,
    max_gap: int,
    gap_weight: Callable[[int], float],
) -> sp.csr_matrix:
    """Items × items (float32 CSR): C[i, j] sums `gap_weight(gap)` over every pair of one
    user's events where j comes `gap` ≤ `max_gap` positions after i (rows sorted by user,
    then time). Built one gap at a time, so memory stays about one gap's pairs."""
    counts = sp.csr_matrix((n_items, n_items), dtype=np.float32)
    for gap in range(1, min(max_gap, len(users) - 1) + 1):
        same = np.flatnonzero(users[:-gap] == users[gap:])
        if len(same) == 0:
            break  # no history is this long
        weight = np.full(len(same), gap_weight(gap), dtype=np.float32)
        counts = counts + sp.csr_matrix(
            (weight, (items[same], items[same + gap])), shape=(n_items, n_items)
        )
    return counts.tocsr()


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
