"""Small synthetic interactions with a known structure, and the lab's ml-100k data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from services.engine.recipes.base import TrainingData

N_USERS, N_ITEMS = 160, 60  # items 0-29 form cluster A, 30-59 cluster B


def synthetic_data(seed: int = 0, *, metadata: bool = False) -> TrainingData:
    """Users of cluster A mostly take A items (and B users B items), in popularity order."""
    rng = np.random.default_rng(seed)
    users, items, times = [], [], []
    weights = 1.0 / np.arange(1, 31)  # long-tailed inside each cluster
    weights /= weights.sum()
    for user in range(N_USERS):
        base = 0 if user % 2 == 0 else 30
        length = int(rng.integers(6, 16))
        chosen = base + rng.choice(30, size=length, replace=False, p=weights)
        if rng.random() < 0.3:  # a little noise from the other cluster
            chosen[-1] = (30 - base) + int(rng.integers(0, 30))
        for step, item in enumerate(chosen):
            users.append(f"u{user}")
            items.append(f"i{item:02d}")
            times.append(1_000_000 + user * 1000 + step)
    item_meta = user_meta = None
    if metadata:
        item_meta = {
            f"i{i:02d}": {"GENRES": "Action|Drama" if i < 30 else "Comedy", "YEAR": str(1980 + i)}
            for i in range(N_ITEMS)
        }
        user_meta = {
            f"u{u}": {
                "AGE": str(20 + u % 40),
                "GENDER": "M" if u % 2 else "F",
                "OCCUPATION": "writer",
            }
            for u in range(N_USERS)
        }
    return TrainingData.from_interactions(
        users, items, times, item_metadata=item_meta, user_metadata=user_meta
    )


def item_index(data: TrainingData, number: int) -> int:
    return int(np.flatnonzero(data.item_ids == f"i{number:02d}")[0])


def cluster_of(data: TrainingData, index: int) -> str:
    return "A" if int(str(data.item_ids[index])[1:]) < 30 else "B"


@pytest.fixture(scope="session")
def small_data() -> TrainingData:
    return synthetic_data()


@pytest.fixture(scope="session")
def small_data_with_metadata() -> TrainingData:
    return synthetic_data(metadata=True)


def load_lab_data(movielens_dir: Path) -> TrainingData:
    """The lab's interactions: ml-100k ratings > 3.6, as (user, item, timestamp)."""
    raw = np.loadtxt(movielens_dir / "u.data", dtype=np.int64)
    keep = raw[:, 2] > 3.6
    return TrainingData.from_interactions(raw[keep, 0], raw[keep, 1], raw[keep, 3])


@pytest.fixture(scope="session")
def lab_data(movielens_dir: Path) -> TrainingData:
    return load_lab_data(movielens_dir)
