"""The serving side of user-personalization and personalized-ranking: scores from a history.

`ItemScoringModel` holds what the EASE (or ALS) fit in `user_personalization.py` produced
and answers a request from the user's current history. This is the engine's hot path
(bench/engine.py measures it against the bare framework), so the arithmetic is arranged
to cost a handful of numpy calls per request:

- The item-token profile path is linear in the history weights, so its contribution is
  folded into one row per item at load time (`rows[i] = B[i] + tokens(i) · B_profile`):
  a request gathers one row per history item instead of two matrices.
- Recency weights are a suffix of one table computed at load time.
- Standard deviations are one sum and one dot product, not `ndarray.std` (which makes
  several passes and temporaries).
- The catalogue-wide softmax only needs its normaliser and the top items' numerators,
  so one `exp` over the catalogue and no full probability vector.
- The transition kernel (`transitions.py`, optional) is sparse: a request sums the rows of
  its newest MAX_QUERY_EVENTS events only.
- Serving may give the model a `Memo` (`enable_memo`): the finished scores of a history are
  kept, keyed by the history's and user tokens' contents, so a user who asks again with
  an unchanged history skips the arithmetic, and a new event (a new key) recomputes it.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from services.engine.recipes.base import RecipeType, TrainedModel
from services.engine.recipes.features import user_tokens
from services.engine.recipes.scoring import (
    Memo,
    recency_weights,
    softmax,
    top_k,
)
from services.engine.recipes.transitions import MAX_QUERY_EVENTS, follow_scores, standardised

SEEN_SCORE = np.float32(-1e30)  # below every real score, above disallowed (-inf)
MAX_HISTORY = 1000  # older events weigh < 2**-1000/half_life; bounds request cost
MAX_RESULTS = 500  # GetRecommendations' numResults maximum: the ranking kept per history


def clean_history(history: np.ndarray, n_items: int) -> np.ndarray:
    """A request's history as item indices of this catalogue (others dropped), newest
    MAX_HISTORY kept."""
    history = np.asarray(history, dtype=np.int64)
    if len(history) and (history.min() < 0 or history.max() >= n_items):
        history = history[(history >= 0) & (history < n_items)]
    return history[-MAX_HISTORY:]


def fast_std(values: np.ndarray) -> float:
    """Population standard deviation in two cheap passes (float64 mean, BLAS dot)."""
    n = len(values)
    if n == 0:
        return 0.0
    centred = values - np.float32(values.sum(dtype=np.float64) / n)
    return float(np.sqrt(np.dot(centred, centred) / n))


class Scored:
    """A history's final scores, the parts of their softmax, and (lazily) their ranking."""

    __slots__ = ("_ranking", "_ranking_p", "peak", "scale", "scores", "total")

    def __init__(self, scores: np.ndarray, score_scale: float) -> None:
        scores.setflags(write=False)
        self.scores = scores  # seen items at SEEN_SCORE
        self._ranking: np.ndarray | None = None
        self._ranking_p = np.empty(0, dtype=np.float32)
        real = scores if scores.min() > SEEN_SCORE else scores[scores > SEEN_SCORE]
        if len(real) == 0:  # everything seen: a uniform softmax, as over all −inf
            self.peak, self.scale, self.total = 0.0, 0.0, float(len(scores))
            return
        scale = np.float32(score_scale / (fast_std(real) + 1e-12))
        peak = real.max()
        self.peak = float(peak)  # the highest real score
        self.scale = float(scale)  # score_scale / std of the real scores
        # Σ exp((s − peak) · scale) over the real scores: the softmax's normaliser.
        self.total = float(np.exp((real - peak) * scale).sum(dtype=np.float64))

    def top(self, num: int, allowed: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """`top_k(scores, num, allowed)` and its probabilities, from the kept ranking if it can.

        The first MAX_RESULTS items and their probabilities are computed once per entry;
        a filtered request takes the allowed ones in that order when there are enough.
        """
        if self._ranking is None:
            self._ranking = top_k(self.scores, MAX_RESULTS)
            self._ranking_p = self.probabilities(self._ranking)
        if num <= len(self._ranking):
            if allowed is None:
                return self._ranking[:num], self._ranking_p[:num]
            keep = np.flatnonzero(allowed[self._ranking])[:num]
            if len(keep) == num or len(self._ranking) == len(self.scores):
                return self._ranking[keep], self._ranking_p[keep]
        top = top_k(self.scores, num, allowed)
        return top, self.probabilities(top)

    def probabilities(self, items: np.ndarray) -> np.ndarray:
        """The softmax probabilities of `items` (0 for seen items)."""
        picked = self.scores[items]
        if self.scale == 0.0:
            return np.full(len(items), 1.0 / self.total, dtype=np.float32)
        numerators = np.exp((picked - np.float32(self.peak)).astype(np.float64) * self.scale)
        numerators[picked <= SEEN_SCORE] = 0.0
        return (numerators / self.total).astype(np.float32)


class ItemScoringModel(TrainedModel):
    """Scores items from a history; shared by user-personalization and personalized-ranking."""

    recipe: ClassVar[str] = "aws-user-personalization"
    recipe_type: ClassVar[RecipeType] = "USER_PERSONALIZATION"

    def __init__(
        self,
        item_ids: np.ndarray,
        *,
        counts: np.ndarray,
        weights: np.ndarray | None = None,
        item_factors: np.ndarray | None = None,
        fold_in: np.ndarray | None = None,
        user_vocab: list[str] | None = None,
        item_tokens: np.ndarray | None = None,
        half_life: float = 0.0,
        exclude_seen: bool = True,
        score_scale: float = 1.0,
        popularity_penalty: float = 0.0,
        transitions: sp.csr_matrix | None = None,
        transition_weight: float = 0.0,
        transition_half_life: float = 0.0,
    ) -> None:
        super().__init__(item_ids)
        self.counts = counts.astype(np.float32)
        self.weights = weights  # (n_items + n_user_tokens [+ n_item_tokens], n_items) or None
        self.item_factors = item_factors  # (n_items, f) or None
        self.fold_in = fold_in  # (n_items + n_user_tokens, f) or None
        self.user_vocab = list(user_vocab or [])
        self.user_vocab_index = {tok: i for i, tok in enumerate(self.user_vocab)}
        # (n_items, n_item_tokens) scaled one-hot; its profile rows sit after the user tokens.
        self.item_tokens = item_tokens
        self.half_life = float(half_life)
        self.exclude_seen = bool(exclude_seen)
        self.score_scale = float(score_scale)
        self.popularity_penalty = float(popularity_penalty)
        self.prior = np.log1p(self.counts).astype(np.float32)  # empty-history scores
        # Standardised log-popularity: the penalty is in units of the scores' spread.
        spread = float(self.prior.std()) or 1.0
        self.popularity_z = ((self.prior - self.prior.mean()) / spread).astype(np.float32)
        self._penalty_z = (np.float32(self.popularity_penalty) * self.popularity_z).astype(
            np.float32
        )
        # The per-history-item input rows (see the module docstring).
        self._rows = self.fold_in
        if self.weights is not None:
            self._rows = self.weights[: self.n_items]
            if self.item_tokens is not None:
                start = self.n_items + len(self.user_vocab)
                profile = self.weights[start : start + self.item_tokens.shape[1]]
                self._rows = np.ascontiguousarray(
                    self._rows + self.item_tokens @ profile, dtype=np.float32
                )
        # (n_items, n_items) CSR of `transitions.transition_kernel`, or None.
        self.transitions = transitions
        self.transition_weight = float(transition_weight)
        self._transition_recency = recency_weights(MAX_QUERY_EVENTS, transition_half_life)
        self.transition_half_life = float(transition_half_life)
        # recency[MAX_HISTORY - n:] are the weights of an n-event history, newest last.
        self._recency = recency_weights(MAX_HISTORY, self.half_life)
        self._memo: Memo | None = None

    def enable_memo(self, max_bytes: int) -> None:
        self._memo = Memo(max_bytes) if max_bytes > 0 else None

    def memo_stats(self) -> tuple[int, int, int]:
        memo = self._memo
        return (0, 0, 0) if memo is None else (memo.hits, memo.misses, memo.bytes)

    def _clean(self, history: np.ndarray) -> np.ndarray:
        return clean_history(history, self.n_items)

    def scores(
        self, history: np.ndarray, user_features: dict[str, str] | None = None
    ) -> np.ndarray:
        """Raw item scores for this history (seen items demoted when repeats are rare)."""
        return self._scores(self._clean(history), user_tokens(user_features, self.user_vocab_index))

    def scored(self, history: np.ndarray, user_features: dict[str, str] | None = None) -> Scored:
        """`scores` with their softmax parts, from the memo when the inputs were seen."""
        history = np.asarray(history, dtype=np.int64)
        tokens = user_tokens(user_features, self.user_vocab_index)
        if self._memo is None:
            return Scored(self._scores(self._clean(history), tokens), self.score_scale)
        # Keyed by the history as given: cleaning it is a function of it, so only a miss
        # pays for that.
        key = (history.tobytes(), tokens.tobytes())
        entry = self._memo.get(key)
        if entry is None:
            entry = Scored(self._scores(self._clean(history), tokens), self.score_scale)
            self._memo.put(key, entry, entry.scores.nbytes + len(key[0]) + len(key[1]))
        return entry  # type: ignore[no-any-return]

    def _scores(self, history: np.ndarray, tokens: np.ndarray) -> np.ndarray:
        if len(history) == 0 and len(tokens) == 0:
            return self.prior.copy()
        assert self._rows is not None
        # Σ wᵢ rowᵢ over the history, plus the user-token rows with weight 1.
        state = self._recency[MAX_HISTORY - len(history) :] @ self._rows[history]
        if len(tokens):
            source = self.weights if self.weights is not None else self.fold_in
            assert source is not None
            state = state + source[tokens + self.n_items].sum(axis=0)
        if self.weights is not None:
            scores = np.asarray(state, dtype=np.float32)
        else:
            assert self.item_factors is not None
            scores = (self.item_factors @ state).astype(np.float32)
        if self.popularity_penalty > 0:
            scores *= np.float32(1.0 / (fast_std(scores) + 1e-12))
            scores -= self._penalty_z
        if self.transitions is not None and self.transition_weight > 0 and len(history):
            scores = self._blend_transitions(scores, history)
        if self.exclude_seen and len(history):
            scores[history] = SEEN_SCORE
        return scores

    def _blend_transitions(self, scores: np.ndarray, history: np.ndarray) -> np.ndarray:
        """z(scores) + γ · z(recency-weighted transition rows of the newest events).

        Both are standardised over the items not in the history (the candidates when
        seen items are excluded), so γ weighs the two signals in comparable units.
        """
        assert self.transitions is not None
        recent = history[-MAX_QUERY_EVENTS:]
        weights = self._transition_recency[MAX_QUERY_EVENTS - len(recent) :]
        follow = follow_scores(self.transitions, recent, weights)
        seen = np.unique(history)
        blended = standardised(scores, seen)
        blended += np.float32(self.transition_weight) * standardised(follow, seen)
        return blended

    def _probabilities(self, scores: np.ndarray) -> np.ndarray:
        """Softmax of the standardised scores (seen items get 0), over a candidate list."""
        finite = scores > SEEN_SCORE
        std = fast_std(scores[finite]) if finite.any() else 1.0
        z = np.where(finite, scores / (std + 1e-12) * self.score_scale, -np.inf)
        return softmax(z.astype(np.float32))

    def recommend(
        self,
        *,
        history: np.ndarray,
        num: int,
        allowed: np.ndarray | None = None,
        user_features: dict[str, str] | None = None,
    ) -> tuple[np.ndarray, np.ndarray | None]:
        scored = self.scored(history, user_features)
        if self._memo is not None:  # a memoised history keeps its ranking for next time
            return scored.top(num, allowed)
        top = top_k(scored.scores, num, allowed)
        return top, scored.probabilities(top)

    def rank(
        self,
        *,
        history: np.ndarray,
        candidates: np.ndarray,
        user_features: dict[str, str] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        candidates = np.asarray(candidates, dtype=np.int64)
        scores = self.scores(history, user_features)[candidates]
        order = np.lexsort((np.arange(len(candidates)), -scores))
        return candidates[order], self._probabilities(scores[order])

    def save_arrays(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        arrays = {"counts": self.counts}
        if self.weights is not None:
            arrays["weights"] = self.weights
        if self.item_tokens is not None:
            arrays["item_tokens"] = self.item_tokens
        if self.item_factors is not None and self.fold_in is not None:
            arrays["item_factors"] = self.item_factors
            arrays["fold_in"] = self.fold_in
        if self.transitions is not None:
            arrays["transition_data"] = self.transitions.data
            arrays["transition_indices"] = self.transitions.indices
            arrays["transition_indptr"] = self.transitions.indptr
        meta = {
            "transition_weight": self.transition_weight,
            "transition_half_life": self.transition_half_life,
            "user_vocab": self.user_vocab,
            "half_life": self.half_life,
            "exclude_seen": self.exclude_seen,
            "score_scale": self.score_scale,
            "popularity_penalty": self.popularity_penalty,
        }
        return arrays, meta

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> ItemScoringModel:
        transitions = None
        if "transition_data" in arrays:
            n = len(arrays["item_ids"])
            transitions = sp.csr_matrix(
                (
                    arrays["transition_data"],
                    arrays["transition_indices"],
                    arrays["transition_indptr"],
                ),
                shape=(n, n),
            )
        return cls(
            arrays["item_ids"],
            counts=arrays["counts"],
            weights=arrays.get("weights"),
            item_factors=arrays.get("item_factors"),
            fold_in=arrays.get("fold_in"),
            user_vocab=meta["user_vocab"],
            item_tokens=arrays.get("item_tokens"),
            half_life=meta["half_life"],
            exclude_seen=meta["exclude_seen"],
            score_scale=meta["score_scale"],
            popularity_penalty=meta["popularity_penalty"],
            transitions=transitions,
            # Models saved before the transition kernel have neither key.
            transition_weight=meta.get("transition_weight", 0.0),
            transition_half_life=meta.get("transition_half_life", 0.0),
        )
