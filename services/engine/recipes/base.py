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

RecipeType = Literal["USER_PERSONALIZATION", "RELATED_ITEMS", "PERSONALIZED_RANKING"]
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
                raise ValueError(f"{self.name} must be one of {', '.join(self.choices)}, got {raw!r}")
            return raw
        try:
            value: float = int(raw) if self.kind == "integer" else float(raw)
        except ValueError:
            raise ValueError(f"{self.name} must be {'an integer' if self.kind == 'integer' else 'a number'}, got {raw!r}") from None
        if (self.low is not None and value < self.low) or (self.high is not None and value > self.high):
            raise ValueError(f"{self.name} must be between {self.low:g} and {self.high:g}, got {raw}")
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
