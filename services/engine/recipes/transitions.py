"""Item-to-item transitions: which items users pick soon after which (sequential co-occurrence).

The EASE scorer of user-personalization sees a history as a set (recency only weights it);
the items a user picks next follow most from the ones just before them. The kernel counts,
over every training history in time order, each pair (earlier item i, item j picked d ≤
`window` steps later) with weight `decay`^(d − 1), then discounts popular items on both
sides: T[i, j] = C[i, j] / n_i^ROW_EXPONENT / n_j^COLUMN_EXPONENT (n = the item's events
+ 1). Without the column discount the blend recommends popular films more and covers less
of the catalogue (an exploratory run on validation users of ml-100k: coverage 0.238
instead of 0.263, P@10 and NDCG@10 within 0.03×).

At request time the newest events' rows are summed with a steep recency decay
(`transition_half_life` events) and blended with the EASE scores (`item_scoring`). The
kernel is sparse (at most `window` pairs per event), saved as CSR arrays.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from services.engine.recipes.scoring import sequence_pairs

DECAY = 0.8  # weight of a pair d steps apart: DECAY ** (d - 1)
ROW_EXPONENT = 0.5
COLUMN_EXPONENT = 0.25
MAX_QUERY_EVENTS = 50  # older events weigh < 2**-16 at the default half-life


def transition_kernel(
    histories: list[np.ndarray], *, n_items: int, window: int, decay: float = DECAY
) -> sp.csr_matrix:
    """The discounted transition counts T (n_items × n_items, float32 CSR); see the docstring."""
    if not histories:
        return sp.csr_matrix((n_items, n_items), dtype=np.float32)
    lengths = [len(seq) for seq in histories]
    counts = sequence_pairs(
        np.repeat(np.arange(len(histories)), lengths),
        np.concatenate(histories),
        n_items=n_items,
        max_gap=window,
        gap_weight=lambda gap: decay ** (gap - 1),
    )
    events = np.bincount(np.concatenate(histories), minlength=n_items).astype(np.float64) + 1.0
    left = sp.diags((events**-ROW_EXPONENT).astype(np.float32))
    right = sp.diags((events**-COLUMN_EXPONENT).astype(np.float32))
    return (left @ counts @ right).astype(np.float32).tocsr()


def follow_scores(kernel: sp.csr_matrix, recent: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Σ wᵢ T[recentᵢ] (float32, one entry per item), read straight from the CSR arrays.

    The same as `kernel[recent].T @ weights`, without scipy's per-call indexing overhead
    (this runs on every request).
    """
    starts = kernel.indptr[recent]
    lengths = kernel.indptr[recent + 1] - starts
    # Positions of every stored entry of the picked rows, row after row.
    offsets = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(lengths.sum())
    values = kernel.data[offsets] * np.repeat(weights, lengths)
    return np.bincount(kernel.indices[offsets], weights=values, minlength=kernel.shape[1]).astype(
        np.float32
    )


def standardised(values: np.ndarray, seen: np.ndarray) -> np.ndarray:
    """(values − mean) / std, both over the items not in `seen` (distinct indices; float32).

    From whole-array sums minus the seen items' (float64), so no mask or copy per request.
    """
    n = len(values) - len(seen)
    if n <= 0:
        return values.astype(np.float32)
    whole = values.astype(np.float64)
    picked = whole[seen]
    mean = (whole.sum() - picked.sum()) / n
    variance = max((np.dot(whole, whole) - np.dot(picked, picked)) / n - mean * mean, 0.0)
    return ((whole - mean) / (np.sqrt(variance) + 1e-12)).astype(np.float32)
