"""The contract between the engine and its recipes.

The engine (control plane, worker, runtime) knows recipes only through this module:

- `TrainingData` is what a dataset group holds at training time: interactions with
  external string ids already mapped to dense indices, plus optional item and user
  metadata.
- `Recipe.fit` trains on it and returns a `TrainedModel`.
- A `TrainedModel` answers runtime queries with item *indices* into `item_ids`, and
  saves itself as plain files (npz with allow_pickle=False, JSON, torch state_dict):
  never pickle.
- `train_solution_version` (in `services.engine.recipes.training`) is the one entry
  point the worker calls: it evaluates with the Personalize protocol, trains the final
  model on all data, and reports the tuned hyperparameters.

Runtime semantics the engine relies on:
- `recommend(history=...)` gets the user's *current* chronological history (training
  interactions plus PutEvents), so new events change the answer without retraining;
  an empty history (unknown user) must still give a sensible list (popular items).
- `allowed` is a boolean mask over items, the result of filters; None allows all.
- Scores: USER_PERSONALIZATION returns a softmax over the whole catalogue; RELATED_ITEMS
  and popularity return None (no `score` on the wire); PERSONALIZED_RANKING returns a
  softmax over the candidates.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np

RecipeType = Literal[
    "USER_PERSONALIZATION", "RELATED_ITEMS", "PERSONALIZED_RANKING", "USER_SEGMENTATION"
]
ProgressCallback = Callable[[float, str], None]  # (fraction done 0..1, message)


@dataclass(frozen=True)
class TrainingData:
    """Interactions of one dataset group, indexed densely.

    Rows are sorted by (user, timestamp). `user_ids[u]` / `item_ids[i]` give the
    external string id of index u / i. Item metadata columns (e.g. "GENRES" as
    "Action|Comedy", "YEAR") and user metadata columns (e.g. "AGE", "GENDER",
    "OCCUPATION") are keyed by column name, one entry per index, or None when the
    dataset group has no such dataset.
    """

    user_ids: np.ndarray  # object array of str, shape (n_users,)
    item_ids: np.ndarray  # object array of str, shape (n_items,)
    users: np.ndarray  # int32 user index per interaction
    items: np.ndarray  # int32 item index per interaction
    timestamps: np.ndarray  # int64 epoch seconds per interaction
    event_types: np.ndarray | None = None  # object array of str per interaction
    event_values: np.ndarray | None = None  # float32 per interaction
    item_metadata: dict[str, np.ndarray] | None = None
    user_metadata: dict[str, np.ndarray] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_interactions(
        cls,
        user_ids: Any,
        item_ids: Any,
        timestamps: Any,
        *,
        event_types: Any = None,
        event_values: Any = None,
        item_metadata: dict[str, dict[str, str]] | None = None,
        user_metadata: dict[str, dict[str, str]] | None = None,
    ) -> TrainingData:
        """Index raw interaction columns (external string ids) into a `TrainingData`.

        `item_metadata` / `user_metadata` map an external id to its row ({column: value}).
        Items that appear only in the item metadata (an Items dataset) join the catalogue
        with no interactions, as in Personalize; users only in user metadata are ignored.
        """
        users_raw = np.asarray(user_ids).astype(str)
        items_raw = np.asarray(item_ids).astype(str)
        times = np.asarray(timestamps, dtype=np.int64)
        if not (len(users_raw) == len(items_raw) == len(times)):
            raise ValueError("user_ids, item_ids and timestamps must have the same length")
        catalogue = np.unique(
            np.concatenate([items_raw, np.array(sorted(item_metadata or {}), dtype=str)])
        )
        user_index, users = np.unique(users_raw, return_inverse=True)
        items = np.searchsorted(catalogue, items_raw)
        order = np.lexsort((times, users))  # by user, then time; stable
        types = (
            None
            if event_types is None
            else np.asarray(event_types).astype(str).astype(object)[order]
        )
        values = None if event_values is None else np.asarray(event_values, dtype=np.float32)[order]

        def columns(
            rows: dict[str, dict[str, str]] | None, ids: np.ndarray
        ) -> dict[str, np.ndarray] | None:
            if not rows:
                return None
            names = sorted({name for row in rows.values() for name in row})
            return {
                name: np.array([rows.get(key, {}).get(name) for key in ids.tolist()], dtype=object)
                for name in names
            }

        return cls(
            user_ids=user_index.astype(object),
            item_ids=catalogue.astype(object),
            users=users[order].astype(np.int32),
            items=items[order].astype(np.int32),
            timestamps=times[order],
            event_types=types,
            event_values=values,
            item_metadata=columns(item_metadata, catalogue),
            user_metadata=columns(user_metadata, user_index),
        )

    def subset_users(self, user_indices: np.ndarray) -> TrainingData:
        """The same catalogue and user index space, with only these users' interactions."""
        return self.subset_rows(np.isin(self.users, user_indices))

    def subset_rows(self, keep: np.ndarray) -> TrainingData:
        """The same catalogue and user index space, with only the interactions `keep` marks."""
        return TrainingData(
            user_ids=self.user_ids,
            item_ids=self.item_ids,
            users=self.users[keep],
            items=self.items[keep],
            timestamps=self.timestamps[keep],
            event_types=None if self.event_types is None else self.event_types[keep],
            event_values=None if self.event_values is None else self.event_values[keep],
            item_metadata=self.item_metadata,
            user_metadata=self.user_metadata,
            extra=self.extra,
        )

    def histories(self) -> list[np.ndarray]:
        """Each user's chronological item indices (empty arrays for users with none)."""
        bounds = np.searchsorted(self.users, np.arange(self.n_users + 1))
        return [self.items[bounds[u] : bounds[u + 1]] for u in range(self.n_users)]

    def user_features(self, user: int) -> dict[str, str] | None:
        """The user's metadata row as GetRecommendations would see it, or None."""
        if not self.user_metadata:
            return None
        return {
            name: str(column[user])
            for name, column in self.user_metadata.items()
            if column[user] is not None
        }

    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    @property
    def n_items(self) -> int:
        return len(self.item_ids)


class TrainedModel(ABC):
    """A trained solution version, as the runtime serves it."""

    recipe: ClassVar[str]
    recipe_type: ClassVar[RecipeType]

    def __init__(self, item_ids: np.ndarray) -> None:
        self.item_ids = item_ids
        self.item_index = {item_id: i for i, item_id in enumerate(item_ids.tolist())}

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    def recommend(
        self,
        *,
        history: np.ndarray,
        num: int,
        allowed: np.ndarray | None = None,
        user_features: dict[str, str] | None = None,
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Top `num` item indices for a user with this chronological `history`."""
        raise ValueError(f"{self.recipe} does not serve user recommendations")

    def similar_items(
        self, *, item: int | None, num: int, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Top `num` items related to `item` (None: an item the model does not know)."""
        raise ValueError(f"{self.recipe} does not serve related items")

    def rank(
        self,
        *,
        history: np.ndarray,
        candidates: np.ndarray,
        user_features: dict[str, str] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Order `candidates` (item indices) for the user; returns (ordered, scores)."""
        raise ValueError(f"{self.recipe} does not rank")

    def enable_memo(self, max_bytes: int) -> None:
        """Serving lets the model keep per-request work for later requests, in `max_bytes`.

        Models with nothing worth keeping ignore it (the default).
        """
        return None

    def memo_stats(self) -> tuple[int, int, int]:
        """(hits, misses, bytes held) of what `enable_memo` keeps; zeros without one."""
        return (0, 0, 0)

    @abstractmethod
    def save_arrays(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """The model's state as numpy arrays and a JSON-able dict."""

    @classmethod
    @abstractmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> TrainedModel:
        """Rebuild a model from what `save_arrays` returned."""

    def save(self, directory: Path) -> None:
        """Write the model into `directory` (the caller makes the write atomic)."""
        arrays, meta = self.save_arrays()
        arrays = {**arrays, "item_ids": self.item_ids.astype(str)}
        np.savez(directory / "model.npz", **arrays)
        (directory / "model.json").write_text(json.dumps({"recipe": self.recipe, **meta}))

    @classmethod
    def load(cls, directory: Path) -> TrainedModel:
        meta = json.loads((directory / "model.json").read_text())
        with np.load(directory / "model.npz", allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
        arrays["item_ids"] = arrays["item_ids"].astype(object)
        return cls.from_arrays(arrays, meta)


@dataclass(frozen=True)
class Hyperparameter:
    """One tunable value, with its default and range as ListRecipes documents them."""

    name: str
    default: str
    kind: Literal["integer", "continuous", "categorical"]
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()

    def parse(self, raw: str) -> Any:
        """Check and convert a value from algorithmHyperParameters; ValueError says why."""
        if self.kind == "categorical":
            if self.choices and raw not in self.choices:
                raise ValueError(
                    f"{self.name} must be one of {', '.join(self.choices)}, got {raw!r}"
                )
            return raw
        try:
            value: float = int(raw) if self.kind == "integer" else float(raw)
        except ValueError:
            expected = "an integer" if self.kind == "integer" else "a number"
            raise ValueError(f"{self.name} must be {expected}, got {raw!r}") from None
        if (self.low is not None and value < self.low) or (
            self.high is not None and value > self.high
        ):
            raise ValueError(
                f"{self.name} must be between {self.low:g} and {self.high:g}, got {raw}"
            )
        return value


class Recipe(ABC):
    """A training algorithm, as DescribeRecipe and CreateSolution see it."""

    name: ClassVar[str]
    recipe_type: ClassVar[RecipeType]
    description: ClassVar[str]
    hyperparameters: ClassVar[tuple[Hyperparameter, ...]] = ()

    def parse_hyperparameters(self, raw: dict[str, str] | None) -> dict[str, Any]:
        """Defaults overridden by `raw`; unknown names and bad values raise ValueError."""
        known = {hp.name: hp for hp in self.hyperparameters}
        unknown = sorted(set(raw or {}) - set(known))
        if unknown:
            raise ValueError(
                f"Unknown hyperparameter(s) for {self.name}: {', '.join(unknown)}. "
                f"Known: {', '.join(sorted(known)) or 'none'}"
            )
        values = {name: hp.parse(hp.default) for name, hp in known.items()}
        for name, value in (raw or {}).items():
            values[name] = known[name].parse(str(value))
        return values

    @abstractmethod
    def fit(
        self,
        data: TrainingData,
        *,
        hyperparameters: dict[str, Any],
        seed: int,
        progress: ProgressCallback | None = None,
    ) -> TrainedModel:
        """Train on `data` with parsed hyperparameters; deterministic for a given seed."""
