"""ml-100k loaders for the benchmarks (read from MOVIELENS_DIR or ../shared/datasets)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from services.engine.recipes.base import TrainingData

ROOT = Path(__file__).resolve().parents[1]


def movielens_dir() -> Path:
    path = Path(os.environ.get("MOVIELENS_DIR", ROOT.parent / "shared/datasets/ml-100k"))
    if not (path / "u.data").is_file():
        raise SystemExit(f"ml-100k not found at {path}: set MOVIELENS_DIR")
    return path


def ratings() -> np.ndarray:
    """u.data as an int array: user, item, rating, timestamp."""
    return np.loadtxt(movielens_dir() / "u.data", dtype=np.int64)


def item_metadata() -> dict[str, dict[str, str]]:
    """GENRES ("Action|Comedy") and YEAR per item id, from u.item / u.genre (latin-1)."""
    folder = movielens_dir()
    genres = [
        line.split("|")[0]
        for line in (folder / "u.genre").read_text(encoding="latin-1").splitlines()
        if line.strip()
    ]
    rows: dict[str, dict[str, str]] = {}
    for line in (folder / "u.item").read_text(encoding="latin-1").splitlines():
        parts = line.split("|")
        if len(parts) < 24:
            continue
        flags = parts[5:24]
        rows[parts[0]] = {
            "GENRES": "|".join(g for g, flag in zip(genres, flags, strict=False) if flag == "1"),
            "YEAR": parts[2][-4:] if parts[2] else "",
        }
    return rows


def user_metadata() -> dict[str, dict[str, str]]:
    """AGE, GENDER and OCCUPATION per user id, from u.user."""
    rows: dict[str, dict[str, str]] = {}
    for line in (movielens_dir() / "u.user").read_text(encoding="latin-1").splitlines():
        parts = line.split("|")
        if len(parts) >= 4:
            rows[parts[0]] = {"AGE": parts[1], "GENDER": parts[2], "OCCUPATION": parts[3]}
    return rows


def to_training_data(rows: np.ndarray, *, metadata: bool) -> TrainingData:
    """(user, item, rating, timestamp) rows as TrainingData, with or without metadata."""
    items = item_metadata() if metadata else None
    if items is not None:
        present = {str(i) for i in np.unique(rows[:, 1]).tolist()}
        items = {key: value for key, value in items.items() if key in present}
    return TrainingData.from_interactions(
        rows[:, 0],
        rows[:, 1],
        rows[:, 3],
        item_metadata=items,
        user_metadata=user_metadata() if metadata else None,
    )


def lab_data(*, metadata: bool = False) -> TrainingData:
    """The lab's interactions: ml-100k ratings > 3.6 (55,375 rows, 942 users, 1,447 items)."""
    rows = ratings()
    return to_training_data(rows[rows[:, 2] > 3.6], metadata=metadata)
