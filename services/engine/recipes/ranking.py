"""aws-personalized-ranking: orders a given list of items for a user.

A re-ranker of its own on top of the user-personalization item scorer: each candidate is
described by features computed against the list (`ranking_features`: the scorer's score
from the whole history and from the newest events, popularity, popularity × history
length, how recent the item's interactions are; each standardised over the list), and a
linear score of them orders the list.
Its weights are fitted for the ranking task itself, with a listwise softmax loss on
lists built from the training users' own futures:

1. each training user's history is cut as the evaluation cuts it (the newest 10 %, at
   least one, are the positives; the rest is the input);
2. a probe scorer is fitted on the inputs only, so that the positives' scores are
   honest predictions, as they are at serving time;
3. per user, two lists (`ranking_examples`): the positives with `ranking_negatives` items
   drawn uniformly from the catalogue (the whole-catalogue ranking GetSolutionMetrics
   asks for), and the `ranking_popular_list` most popular items the user has not got
   with the positives among them (like the app's lists, a genre's most popular films);
4. the weights maximise the positives' mean log-probability under the list's softmax
   (L2 `ranking_regularization`); the served scorer is then fitted on the full histories.

Items the user already has (in the history passed at request time): when fewer than 1 %
of training events repeat an item (MovieLens: none), nobody picks them again, so they
come after every fresh candidate, in the model's order among themselves (the best fit to
the user's taste first), with probability 0. With frequent repeats they are ranked like
any other candidate. The history holds positive interactions only (the lab's: ratings of
4-5 stars), so a film the user rated low is unknown to the model and ranked as unseen.

Scores: the softmax of the linear scores over the fresh candidates (the loss it was
fitted with makes it the model's probability of each being the user's next pick).
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
from services.engine.recipes.item_scoring import ItemScoringModel, clean_history
from services.engine.recipes.ranking_examples import probe_split, training_lists
from services.engine.recipes.ranking_features import (
    FEATURES,
    RECENT_ITEMS,
    fit_listwise,
    list_features,
)
from services.engine.recipes.scoring import softmax
from services.engine.recipes.user_personalization import (
    COMMON_HYPERPARAMETERS,
    fit_item_scorer,
)

SCORER_PREFIX = "scorer_"


class PersonalizedRankingModel(TrainedModel):
    recipe: ClassVar[str] = "aws-personalized-ranking"
    recipe_type: ClassVar[RecipeType] = "PERSONALIZED_RANKING"

    def __init__(
        self,
        item_ids: np.ndarray,
        *,
        scorer: ItemScoringModel,
        weights: np.ndarray,
        exclude_seen: bool,
        item_time: np.ndarray,
    ) -> None:
        super().__init__(item_ids)
        if len(weights) != len(FEATURES):
            raise ValueError(f"weights must have {len(FEATURES)} entries, got {len(weights)}")
        # The scorer scores every item, seen or not: this model places seen items itself.
        scorer.exclude_seen = False
        self.scorer = scorer
        self.weights = np.asarray(weights, dtype=np.float64)
        self.exclude_seen = bool(exclude_seen)
        self.log_popularity = np.log1p(scorer.counts).astype(np.float64)
        self.item_time = np.asarray(item_time, dtype=np.float64)

    def features(
        self,
        *,
        history: np.ndarray,
        candidates: np.ndarray,
        user_features: dict[str, str] | None = None,
        fresh: np.ndarray | None = None,
    ) -> np.ndarray:
        """The candidates' standardised features (candidates × FEATURES) for this history."""
        return self.list_features(
            history=history,
            lists=[candidates],
            user_features=user_features,
            fresh=None if fresh is None else [fresh],
        )[0]

    def list_features(
        self,
        *,
        history: np.ndarray,
        lists: list[np.ndarray],
        user_features: dict[str, str] | None = None,
        fresh: list[np.ndarray] | None = None,
    ) -> list[np.ndarray]:
        """`features` of several lists for one history, scoring the history once."""
        history = self._clean(history)
        full = self.scorer.scores(history, user_features)
        recent = self.scorer.scores(history[-RECENT_ITEMS:], user_features)
        return [
            list_features(
                history_scores=full[candidates],
                recent_scores=recent[candidates],
                log_popularity=self.log_popularity[candidates],
                item_time=self.item_time[candidates],
                history_length=len(history),
                fresh=np.ones(len(candidates), dtype=bool) if fresh is None else fresh[k],
            )
            for k, candidates in enumerate(lists)
        ]

    def rank(
        self,
        *,
        history: np.ndarray,
        candidates: np.ndarray,
        user_features: dict[str, str] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        candidates = np.asarray(candidates, dtype=np.int64)
        history = self._clean(history)
        if self.exclude_seen:
            seen = np.isin(candidates, history)
        else:
            seen = np.zeros(len(candidates), dtype=bool)
        fresh = ~seen
        scores = (
            self.features(
                history=history, candidates=candidates, user_features=user_features, fresh=fresh
            )
            @ self.weights
        )
        # Fresh first, then by score, then in the given order (deterministic ties).
        order = np.lexsort((np.arange(len(candidates)), -scores, seen))
        probabilities = np.zeros(len(candidates), dtype=np.float32)
        if fresh.any():
            probabilities[fresh] = softmax(scores[fresh].astype(np.float32))
        return candidates[order], probabilities[order]

    def _clean(self, history: np.ndarray) -> np.ndarray:
        return clean_history(history, self.n_items)

    def save_arrays(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        scorer_arrays, scorer_meta = self.scorer.save_arrays()
        arrays = {SCORER_PREFIX + key: value for key, value in scorer_arrays.items()}
        arrays["ranking_weights"] = self.weights
        arrays["item_time"] = self.item_time
        meta = {
            "features": list(FEATURES),
            "exclude_seen": self.exclude_seen,
            "scorer": scorer_meta,
        }
        return arrays, meta

    @classmethod
    def from_arrays(
        cls, arrays: dict[str, np.ndarray], meta: dict[str, Any]
    ) -> PersonalizedRankingModel:
        if meta["features"] != list(FEATURES):
            raise ValueError(f"model features {meta['features']} are not {list(FEATURES)}")
        scorer_arrays = {
            key[len(SCORER_PREFIX) :]: value
            for key, value in arrays.items()
            if key.startswith(SCORER_PREFIX)
        }
        scorer = ItemScoringModel.from_arrays(
            {**scorer_arrays, "item_ids": arrays["item_ids"]}, meta["scorer"]
        )
        return cls(
            arrays["item_ids"],
            scorer=scorer,
            weights=arrays["ranking_weights"],
            exclude_seen=meta["exclude_seen"],
            item_time=arrays["item_time"],
        )


def mean_item_time(data: TrainingData) -> np.ndarray:
    """Per item, the mean time of its interactions in days (the mean of all for items with
    none): films in fashion when the data ends are the likelier next picks."""
    start = int(data.timestamps.min()) if len(data.timestamps) else 0
    days = (data.timestamps - start).astype(np.float64) / 86400
    counts = np.bincount(data.items, minlength=data.n_items)
    sums = np.bincount(data.items, weights=days, minlength=data.n_items)
    overall = float(days.mean()) if len(days) else 0.0
    return np.where(counts > 0, sums / np.maximum(counts, 1), overall)


class PersonalizedRanking(Recipe):
    name: ClassVar[str] = "aws-personalized-ranking"
    recipe_type: ClassVar[RecipeType] = "PERSONALIZED_RANKING"
    description: ClassVar[str] = (
        "Re-ranks a list of items for a user: a listwise-trained re-ranker over the item "
        "scorer's scores and popularity; scores are a softmax over the list."
    )
    hyperparameters: ClassVar[tuple[Hyperparameter, ...]] = (
        *COMMON_HYPERPARAMETERS,
        # Our own: the re-ranker's training lists and its L2 penalty.
        Hyperparameter("ranking_negatives", "50", "integer", 1, 1000),
        Hyperparameter("ranking_popular_list", "150", "integer", 2, 10000),
        Hyperparameter("ranking_regularization", "0.01", "continuous", 0.0, 100.0),
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
        inputs, positives = probe_split(data)
        if progress:
            progress(0.1, "fitting the probe scorer on the training users' inputs")
        probe = fit_item_scorer(inputs, hp, seed=seed, model_class=ItemScoringModel)
        probe_model = PersonalizedRankingModel(
            data.item_ids,
            scorer=probe,
            weights=np.zeros(len(FEATURES)),
            exclude_seen=probe.exclude_seen,
            item_time=mean_item_time(inputs),
        )
        lists, masks = training_lists(
            featurise=probe_model.list_features,
            data=inputs,
            positives=positives,
            negatives=hp["ranking_negatives"],
            popular_list=hp["ranking_popular_list"],
            seed=seed,
        )
        weights = fit_listwise(lists=lists, positives=masks, l2=hp["ranking_regularization"])
        if progress:
            progress(0.6, "fitting the item scorer on the full histories")
        scorer = fit_item_scorer(data, hp, seed=seed, model_class=ItemScoringModel)
        return PersonalizedRankingModel(
            data.item_ids,
            scorer=scorer,
            weights=weights,
            exclude_seen=scorer.exclude_seen,
            item_time=mean_item_time(data),
        )
