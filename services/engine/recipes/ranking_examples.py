"""The training lists of aws-personalized-ranking, cut from the training users' own futures.

Each user's chronological history is cut as the evaluation cuts a test user's
(`evaluation.split_history`: the newest 10 %, at least one, are positives); the older
part is the input. Per user with positives, up to two lists of candidates:

- the positives plus `negatives` items drawn uniformly from the catalogue, as when
  GetSolutionMetrics ranks the whole catalogue;
- the `popular_list` most popular items the user has not got, with the user's positives
  among them as positives (none: no list), as when the app ranks a genre's most popular
  films. (Popularity-weighted random negatives instead made the fit learn "popular is
  bad", since they are more popular than most positives: NDCG@10 on the app's task fell
  from 0.51 to 0.47 on validation.)

Input items are never candidates: at serving time they go last whatever their score.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from services.engine.evaluation import split_history
from services.engine.recipes.base import TrainingData

Featurise = Callable[..., list[np.ndarray]]  # PersonalizedRankingModel.list_features


def probe_split(data: TrainingData) -> tuple[TrainingData, list[np.ndarray]]:
    """(the data without each user's newest 10 %, those newest items per user).

    Users with fewer than 2 interactions keep all of them and have no positives.
    """
    bounds = np.searchsorted(data.users, np.arange(data.n_users + 1))
    keep = np.ones(len(data.users), dtype=bool)
    positives: list[np.ndarray] = []
    for user in range(data.n_users):
        start, stop = int(bounds[user]), int(bounds[user + 1])
        if stop - start < 2:
            positives.append(np.empty(0, dtype=np.int64))
            continue
        given, held_out = split_history(data.items[start:stop])
        keep[start + len(given) : stop] = False
        positives.append(held_out.astype(np.int64))
    inputs = data.subset_rows(keep)
    return inputs, positives


def training_lists(
    *,
    featurise: Featurise,
    data: TrainingData,
    positives: list[np.ndarray],
    negatives: int,
    popular_list: int,
    seed: int,
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(feature matrices, positive masks) of the lists described in the module docstring."""
    rng = np.random.default_rng(seed)
    counts = np.bincount(data.items, minlength=data.n_items)
    by_popularity = np.lexsort((np.arange(data.n_items), -counts))
    histories = data.histories()
    lists: list[np.ndarray] = []
    masks: list[np.ndarray] = []
    for user, held_out in enumerate(positives):
        history = histories[user].astype(np.int64)
        had = np.zeros(data.n_items, dtype=bool)
        had[history] = True
        targets = np.unique(held_out[~had[held_out]])
        if len(targets) == 0:
            continue
        is_target = np.zeros(data.n_items, dtype=bool)
        is_target[targets] = True
        pool = np.flatnonzero(~had & ~is_target)
        variants = []
        if len(pool):
            drawn = rng.choice(pool, size=min(negatives, len(pool)), replace=False)
            variants.append((targets, drawn))
        popular = by_popularity[~had[by_popularity]][:popular_list]
        inside = is_target[popular]
        if inside.any() and not inside.all():
            variants.append((popular[inside], popular[~inside]))
        candidate_lists = [np.concatenate([hits, others]) for hits, others in variants]
        lists.extend(
            featurise(
                history=history, lists=candidate_lists, user_features=data.user_features(user)
            )
        )
        masks.extend(
            np.arange(len(candidates)) < len(hits)
            for candidates, (hits, _) in zip(candidate_lists, variants, strict=True)
        )
    return lists, masks
