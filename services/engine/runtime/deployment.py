"""A campaign's loaded model bound to its dataset group's in-memory data."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from services.engine.recipes.base import TrainedModel
from services.engine.runtime.histories import EMPTY, GroupData

MASK_CACHE_SIZE = 256


@dataclass
class Deployment:
    campaign_arn: str
    solution_version_arn: str
    model: TrainedModel
    group: GroupData
    _to_model: np.ndarray = field(default_factory=lambda: np.empty(0, np.int32))
    _values: dict[str, list[frozenset[str]]] = field(default_factory=dict)
    _numbers: dict[str, np.ndarray] = field(default_factory=dict)
    masks: dict[tuple[object, ...], np.ndarray] = field(default_factory=dict)
    # user -> (the stored item array it was mapped from, the mapped history); histories are
    # copy-on-append, so the identity of the stored array says whether it is current.
    _mapped: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    @property
    def recipe_type(self) -> str:
        return self.model.recipe_type

    def code_map(self) -> np.ndarray:
        """Group item code -> model item index (-1 for items the model never saw)."""
        known = len(self._to_model)
        if known < len(self.group.item_ids):
            index = self.model.item_index
            extra = np.fromiter(
                (index.get(i, -1) for i in self.group.item_ids[known:]), dtype=np.int32
            )
            self._to_model = np.concatenate([self._to_model, extra])
        return self._to_model

    def history(self, user_id: str | None) -> np.ndarray:
        """The user's chronological history as model item indices."""
        if user_id is None:
            return EMPTY
        stored = self.group.histories.get(user_id)
        if stored is None:
            return EMPTY
        cached = self._mapped.get(user_id)
        if cached is not None and cached[0] is stored.items:
            return cached[1]
        mapped = self.code_map()[stored.items]
        history = mapped[mapped >= 0].astype(np.int64)
        self._mapped[user_id] = (stored.items, history)
        return history

    def item_values(self, name: str) -> list[frozenset[str]]:
        """A categorical item field per model item; "A|B" holds two values."""
        values = self._values.get(name)
        if values is None:
            attrs = self.group.item_attributes
            values = []
            for item_id in self.model.item_ids.tolist():
                raw = attrs.get(item_id, {}).get(name)
                values.append(
                    frozenset(str(raw).split("|")) if raw not in (None, "") else frozenset()
                )
            self._values[name] = values
        return values

    def item_numbers(self, name: str) -> np.ndarray:
        """A numeric item field per model item (NaN where missing or not a number)."""
        numbers = self._numbers.get(name)
        if numbers is None:
            attrs = self.group.item_attributes
            out = np.full(self.model.n_items, math.nan)
            for i, item_id in enumerate(self.model.item_ids.tolist()):
                try:
                    out[i] = float(attrs.get(item_id, {}).get(name))  # type: ignore[arg-type]
                except (TypeError, ValueError):
                    pass
            self._numbers[name] = numbers = out
        return numbers

    def cache_mask(self, key: tuple[object, ...], mask: np.ndarray) -> np.ndarray:
        if len(self.masks) >= MASK_CACHE_SIZE:
            self.masks.clear()
        self.masks[key] = mask
        return mask
