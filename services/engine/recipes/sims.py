"""aws-sims: item-to-item co-occurrence ("users who liked this also liked").

For a query item i and a candidate j, with C[i, j] the number of users who interacted with
both and n[j] the number of users of j:

    sim(i, j) = C[i, j] / n[j] ** popularity_discount_factor,  if C[i, j] >= min_cointeraction_count

(dividing by n[i] too would not change the ranking for a fixed query). Factor 0 ranks by raw
co-occurrence, which favours blockbusters; 1 is lift-like and favours niche items; 0.5 is
cosine-like. As documented for Personalize, users whose history length lies outside the
[min, max]_user_history_length_percentile range are left out of training, and only items
whose interaction count lies inside [min, max]_item_interaction_count_percentile are
candidates (so by default the top 10 % most popular items are not recommended as
"similar": they would be similar to everything). Every known item can still be queried.
Unknown items, and lists that run short, are filled with the most popular items.

The top 500 neighbours (numResults' maximum) of every item are precomputed at training time,
so serving is a mask lookup.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from services.engine.recipes.base import (
    Hyperparameter,
    ProgressCallback,
    Recipe,
    RecipeType,
    TrainedModel,
    TrainingData,
)
from services.engine.recipes.scoring import (
    distinct_user_counts,
    ordered_top,
    popularity_order,
    top_k,
    user_item_matrix,
)

MAX_NEIGHBOURS = 500


class SimsModel(TrainedModel):
    recipe: ClassVar[str] = "aws-sims"
    recipe_type: ClassVar[RecipeType] = "RELATED_ITEMS"

    def __init__(self, item_ids: np.ndarray, neighbours: np.ndarray, counts: np.ndarray) -> None:
        super().__init__(item_ids)
        self.neighbours = neighbours.astype(np.int32)  # (n_items, K), -1 padded
        self.counts = counts.astype(np.float32)
        self.popular = popularity_order(self.counts)

    def similar_items(
        self, *, item: int | None, num: int, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray | None]:
        if item is None or not 0 <= item < self.n_items:
            return ordered_top(self.popular, num, allowed), None
        row = self.neighbours[item]
        row = row[row >= 0]
        picked = row if allowed is None else row[allowed[row]]
        picked = picked[:num]
        if len(picked) < num:
            # Backfill with popular items not already listed (and never the query item).
            mask = np.ones(self.n_items, dtype=bool) if allowed is None else allowed.copy()
            mask[picked] = False
            mask[item] = False
            picked = np.concatenate([picked, ordered_top(self.popular, num - len(picked), mask)])
        return picked.astype(np.int64), None

    def save_arrays(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        return {"neighbours": self.neighbours, "counts": self.counts}, {}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> SimsModel:
        return cls(arrays["item_ids"], arrays["neighbours"], arrays["counts"])


class Sims(Recipe):
    name: ClassVar[str] = "aws-sims"
    recipe_type: ClassVar[RecipeType] = "RELATED_ITEMS"
    description: ClassVar[str] = (
        "Item-to-item collaborative filtering on co-occurrence in user histories, with a "
        "popularity discount. Needs an itemId; unknown items get popular items."
    )
    hyperparameters: ClassVar[tuple[Hyperparameter, ...]] = (
        Hyperparameter("popularity_discount_factor", "0.5", "continuous", 0.0, 1.0),
        Hyperparameter("min_cointeraction_count", "3", "integer", 0, 10),
        Hyperparameter("min_user_history_length_percentile", "0.005", "continuous", 0.0, 1.0),
        Hyperparameter("max_user_history_length_percentile", "0.995", "continuous", 0.0, 1.0),
        Hyperparameter("min_item_interaction_count_percentile", "0.01", "continuous", 0.0, 1.0),
        Hyperparameter("max_item_interaction_count_percentile", "0.9", "continuous", 0.0, 1.0),
    )

    def fit(
        self,
        data: TrainingData,
        *,
        hyperparameters: dict[str, Any],
        seed: int,
        progress: ProgressCallback | None = None,
    ) -> TrainedModel:
        hp = hyperparameters
        matrix = user_item_matrix(data)
        lengths = np.asarray(matrix.sum(axis=1)).ravel()
        active = lengths > 0
        keep_users = active
        # Percentiles over active users only; inactive users have no rows anyway.
        if active.any():
            lo, hi = np.quantile(
                lengths[active],
                [
                    hp["min_user_history_length_percentile"],
                    hp["max_user_history_length_percentile"],
                ],
            )
            keep_users = active & (lengths >= lo) & (lengths <= hi)
        matrix = matrix[np.flatnonzero(keep_users)]
        counts = np.asarray(matrix.sum(axis=0)).ravel().astype(np.float32)
        seen = counts > 0
        candidate = np.zeros(data.n_items, dtype=bool)
        if seen.any():
            lo, hi = np.quantile(
                counts[seen],
                [
                    hp["min_item_interaction_count_percentile"],
                    hp["max_item_interaction_count_percentile"],
                ],
            )
            candidate = seen & (counts >= lo) & (counts <= hi)
        discount = np.where(counts > 0, counts, 1.0) ** -np.float32(
            hp["popularity_discount_factor"]
        )
        k = min(MAX_NEIGHBOURS, max(data.n_items - 1, 1))
        neighbours = np.full((data.n_items, k), -1, dtype=np.int32)
        by_item = matrix.T.tocsr()  # items × users
        # Only candidate columns are ever recommended: the co-occurrence product leaves the
        # others (the most popular items, the densest columns) out, and stays sparse; the
        # candidates of a row are then its few stored entries, not a scan of the catalogue.
        columns = np.flatnonzero(candidate)
        to_candidates = matrix.tocsc()[:, columns].tocsr()
        weight = discount[columns]
        block = max(1, min(data.n_items, 2_000_000 // max(data.n_items, 1)))
        min_count = max(hp["min_cointeraction_count"], 1)
        for start in range(0, data.n_items, block):
            stop = min(start + block, data.n_items)
            co = (by_item[start:stop] @ to_candidates).tocsr()
            row_of = np.repeat(np.arange(stop - start), np.diff(co.indptr))
            items = columns[co.indices]
            keep = (co.data >= min_count) & (items != row_of + start)  # never itself
            items, rows = items[keep], row_of[keep]
            scores = (co.data[keep] * weight[co.indices[keep]]).astype(np.float32)
            # Columns ascending within each row, so that equal scores keep index order.
            order = np.lexsort((items, rows))
            items, rows, scores = items[order], rows[order], scores[order]
            bounds = np.searchsorted(rows, np.arange(stop - start + 1))
            for row in range(stop - start):
                lo, hi = bounds[row], bounds[row + 1]
                if hi > lo:
                    top = items[lo:hi][top_k(scores[lo:hi], min(k, hi - lo))]
                    neighbours[start + row, : len(top)] = top
            if progress:
                progress(stop / data.n_items, "co-occurrence")
        return SimsModel(data.item_ids, neighbours, distinct_user_counts(data))
