"""Offline evaluation as pure functions: the Personalize protocol and a full-ranking protocol.

Personalize protocol (GetSolutionMetrics; reference personalize-api.md section 11)
--------------------------------------------------------------------------------
1. `split_users`: users with at least one interaction are shuffled with
   `numpy.random.default_rng(seed)`; the first max(1, round(10 %)) are test users, the rest
   train. The seed is the solution version's training seed (42 unless given), so the split
   is fixed and stored with the solution version.
2. The recipe is trained on the training users' interactions only.
3. `split_history`: each test user's interactions, sorted by timestamp, are cut so that the
   newest n_relevant = max(1, floor(0.1 · n)) are the relevant items and the older
   n − n_relevant are the input. Test users with fewer than 2 interactions cannot give both
   an input and a relevant item and are not scored.
4. `query_model` asks the trained model for 25 items:
   - USER_PERSONALIZATION: `recommend(history=input, user_features=...)`; models with user
     factors fold the input in at request time (ours always score from the history);
   - RELATED_ITEMS (SIMS): `similar_items(item=` the user's newest input item `)`;
   - PERSONALIZED_RANKING: `rank(history=input, candidates=` the whole catalogue `)`.
   Items already in the input are *not* removed by the evaluation (GetRecommendations does
   not drop them either); a recipe may itself demote them (ours do when the training data
   has almost no repeat interactions, as MovieLens). For like-for-like baselines the
   benchmark also scores a model with the input removed (`exclude_input=True`: what a
   filter excluding watched items does), e.g. popularity, whose served list keeps items the
   user already has and which can never be hits.
5. `personalize_metrics`: coverage = distinct items recommended (top 25) over all test
   users ÷ items in the catalogue (interactions plus Items dataset); MRR@25;
   NDCG@5/10/25 with gain 1/log(1 + position), position from 1, divided by the ideal DCG
   of min(|relevant|, K) hits; precision@5/10/25 = hits in top K ÷ K. Means over scored
   test users, rounded to 4 decimals (round half to even, Python's `round`).

Full-ranking protocol (microsoft/recommenders MovieLens benchmark)
-------------------------------------------------------------------
`stratified_split` reproduces `python_stratified_split(ratio=0.75, filter_by="item")`:
each item's ratings are shuffled and the first round(0.75 · n) train. `full_ranking_metrics`
matches recommenders' `precision_at_k`, `recall_at_k`, `ndcg_at_k` (binary relevance,
natural-log discount), `map` (the benchmark's "MAP" column in the runs anchors.md 2.1 quotes:
sum over hits in the top k of (hits so far / rank), divided by |relevant|) and `map_at_k`
(the same sum divided by min(|relevant|, k)), each averaged over the test users.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from services.engine.recipes.base import TrainedModel, TrainingData

METRIC_KEYS = (
    "coverage",
    "mean_reciprocal_rank_at_25",
    "normalized_discounted_cumulative_gain_at_5",
    "normalized_discounted_cumulative_gain_at_10",
    "normalized_discounted_cumulative_gain_at_25",
    "precision_at_5",
    "precision_at_10",
    "precision_at_25",
)
TEST_FRACTION = 0.1
HOLDOUT_FRACTION = 0.1
NUM_RESULTS = 25


def split_users(
    active_users: np.ndarray, seed: int, test_fraction: float = TEST_FRACTION
) -> tuple[np.ndarray, np.ndarray]:
    """(train_users, test_users), both sorted; a seeded random `test_fraction` tests."""
    users = np.sort(np.asarray(active_users))
    shuffled = np.random.default_rng(seed).permutation(users)
    n_test = max(1, round(test_fraction * len(users))) if len(users) > 1 else 0
    return np.sort(shuffled[n_test:]), np.sort(shuffled[:n_test])


def split_history(
    items: np.ndarray, holdout_fraction: float = HOLDOUT_FRACTION
) -> tuple[np.ndarray, np.ndarray]:
    """(input, relevant) of a chronological history: the newest max(1, floor(10 %)) are relevant."""
    n_relevant = max(1, math.floor(holdout_fraction * len(items) + 1e-9))
    return items[: len(items) - n_relevant], items[len(items) - n_relevant :]


def dcg(hit_positions: Sequence[int]) -> float:
    """Sum of 1 / log2(1 + position) over 1-based positions (the base cancels in NDCG)."""
    return float(sum(1.0 / math.log2(1 + p) for p in hit_positions))


def ndcg_at_k(recommended: Sequence[int], relevant: set[int], k: int) -> float:
    """NDCG@k of one list against a set of relevant items."""
    if not relevant:
        return 0.0
    hits = [pos for pos, item in enumerate(list(recommended)[:k], start=1) if item in relevant]
    ideal = dcg(range(1, min(len(relevant), k) + 1))
    return dcg(hits) / ideal


def precision_at_k(recommended: Sequence[int], relevant: set[int], k: int) -> float:
    return sum(1 for item in list(recommended)[:k] if item in relevant) / k


def reciprocal_rank_at_k(recommended: Sequence[int], relevant: set[int], k: int) -> float:
    for pos, item in enumerate(list(recommended)[:k], start=1):
        if item in relevant:
            return 1.0 / pos
    return 0.0


def personalize_metrics(
    recommendations: Sequence[Sequence[int]],
    relevant: Sequence[set[int]],
    n_catalogue: int,
    *,
    digits: int | None = 4,
) -> dict[str, float]:
    """The 8 GetSolutionMetrics values over test users (None digits: full precision)."""
    n = len(recommendations)
    if n == 0:
        values = dict.fromkeys(METRIC_KEYS, 0.0)
    else:
        covered = {int(item) for recs in recommendations for item in list(recs)[:NUM_RESULTS]}
        values = {"coverage": len(covered) / max(n_catalogue, 1)}
        pairs = list(zip(recommendations, relevant, strict=True))
        values["mean_reciprocal_rank_at_25"] = (
            sum(reciprocal_rank_at_k(r, s, 25) for r, s in pairs) / n
        )
        for k in (5, 10, 25):
            values[f"normalized_discounted_cumulative_gain_at_{k}"] = (
                sum(ndcg_at_k(r, s, k) for r, s in pairs) / n
            )
        for k in (5, 10, 25):
            values[f"precision_at_{k}"] = sum(precision_at_k(r, s, k) for r, s in pairs) / n
    ordered = {key: float(values[key]) for key in METRIC_KEYS}
    return ordered if digits is None else {key: round(v, digits) for key, v in ordered.items()}


def query_model(
    model: TrainedModel,
    history: np.ndarray,
    num: int = NUM_RESULTS,
    user_features: dict[str, str] | None = None,
    *,
    exclude_input: bool = False,
) -> np.ndarray:
    """The model's top `num` for one test user, queried as its recipe type requires; with
    `exclude_input`, never an item of `history`."""
    allowed = None
    if exclude_input:
        allowed = np.ones(model.n_items, dtype=bool)
        allowed[np.asarray(history, dtype=np.int64)] = False
    if model.recipe_type == "RELATED_ITEMS":
        item = int(history[-1]) if len(history) else None
        items, _ = model.similar_items(item=item, num=num, allowed=allowed)
    elif model.recipe_type == "PERSONALIZED_RANKING":
        candidates = np.arange(model.n_items) if allowed is None else np.flatnonzero(allowed)
        ordered, _ = model.rank(
            history=history, candidates=candidates, user_features=user_features
        )
        items = ordered[:num]
    else:
        items, _ = model.recommend(
            history=history, num=num, allowed=allowed, user_features=user_features
        )
    return np.asarray(items)


def evaluate_test_users(
    model: TrainedModel,
    data: TrainingData,
    test_users: np.ndarray,
    *,
    digits: int | None = 4,
    exclude_input: bool = False,
) -> dict[str, float]:
    """Score `model` (trained without `test_users`) on their newest 10 % of interactions
    (`exclude_input`: see `query_model`)."""
    histories = data.histories()
    recommendations: list[np.ndarray] = []
    relevant: list[set[int]] = []
    for user in np.asarray(test_users).tolist():
        items = histories[user]
        if len(items) < 2:
            continue
        given, held_out = split_history(items)
        recommendations.append(
            query_model(
                model,
                given,
                user_features=data.user_features(user),
                exclude_input=exclude_input,
            )
        )
        relevant.append(set(held_out.tolist()))
    return personalize_metrics(recommendations, relevant, data.n_items, digits=digits)


def active_users(data: TrainingData) -> np.ndarray:
    return np.unique(data.users)


# --- full-ranking protocol (recommenders' benchmark) ------------------------------------


def stratified_split(
    users: np.ndarray,
    items: np.ndarray,
    *,
    ratio: float = 0.75,
    seed: int = 42,
    by: np.ndarray | None = None,
) -> np.ndarray:
    """Boolean train mask: within each group (item by default) a shuffled `ratio` trains."""
    groups = np.asarray(items if by is None else by)
    rng = np.random.default_rng(seed)
    train = np.zeros(len(groups), dtype=bool)
    order = np.argsort(groups, kind="stable")
    bounds = np.flatnonzero(np.diff(groups[order])) + 1
    for block in np.split(order, bounds):
        shuffled = rng.permutation(block)
        train[shuffled[: round(ratio * len(block))]] = True
    return train


def full_ranking_metrics(
    recommendations: Sequence[Sequence[int]],
    relevant: Sequence[set[int]],
    k: int = 10,
) -> dict[str, float]:
    """precision@k, recall@k, NDCG@k (natural log, binary), map and map_at_k as recommenders."""
    n = len(recommendations)
    totals = {"precision": 0.0, "recall": 0.0, "ndcg": 0.0, "map": 0.0, "map_at_k": 0.0}
    for recs, truth in zip(recommendations, relevant, strict=True):
        top = list(recs)[:k]
        hits = [pos for pos, item in enumerate(top, start=1) if item in truth]
        totals["precision"] += len(hits) / k
        totals["recall"] += len(hits) / len(truth) if truth else 0.0
        ideal = sum(1 / math.log(1 + p) for p in range(1, min(len(truth), k) + 1))
        totals["ndcg"] += sum(1 / math.log(1 + p) for p in hits) / ideal if ideal else 0.0
        precisions = sum((i + 1) / pos for i, pos in enumerate(hits))
        totals["map"] += precisions / len(truth) if truth else 0.0
        totals["map_at_k"] += precisions / min(len(truth), k) if truth else 0.0
    return {key: value / n if n else 0.0 for key, value in totals.items()}
