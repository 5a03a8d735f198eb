"""MovieLens loaders for the benchmarks: ml-100k (MOVIELENS_DIR) and ml-latest-small
(MOVIELENS_LATEST_DIR), by default from ../shared/datasets beside the project."""

from __future__ import annotations

import csv
import os
import re
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


def latest_small_dir() -> Path:
    default = ROOT.parent / "shared/datasets/ml-latest-small"
    path = Path(os.environ.get("MOVIELENS_LATEST_DIR", default))
    if not (path / "ratings.csv").is_file():
        raise SystemExit(f"ml-latest-small not found at {path}: set MOVIELENS_LATEST_DIR")
    return path


def latest_small_ratings() -> np.ndarray:
    """ml-latest-small's ratings.csv as user, item, rating × 10 (half stars), timestamp."""
    with open(latest_small_dir() / "ratings.csv", newline="") as handle:
        rows = [
            (
                int(r["userId"]),
                int(r["movieId"]),
                round(float(r["rating"]) * 10),
                int(r["timestamp"]),
            )
            for r in csv.DictReader(handle)
        ]
    return np.array(rows, dtype=np.int64)


def latest_small_items() -> dict[str, dict[str, str]]:
    """GENRES and YEAR (from the title's "(1995)") per movie id, from movies.csv."""
    rows: dict[str, dict[str, str]] = {}
    with open(latest_small_dir() / "movies.csv", newline="", encoding="utf-8") as handle:
        for r in csv.DictReader(handle):
            year = re.search(r"\((\d{4})\)\s*$", r["title"])
            genres = "" if r["genres"] == "(no genres listed)" else r["genres"]
            rows[r["movieId"]] = {"GENRES": genres, "YEAR": year.group(1) if year else ""}
    return rows


def latest_small_data(*, metadata: bool = False) -> TrainingData:
    """The second dataset, prepared as the issue states: ratings ≥ 4 as interactions (item
    metadata only: ml-latest-small has no user table)."""
    rows = latest_small_ratings()
    rows = rows[rows[:, 2] >= 40]
    items = None
    if metadata:
        present = {str(i) for i in np.unique(rows[:, 1]).tolist()}
        items = {k: v for k, v in latest_small_items().items() if k in present}
    return TrainingData.from_interactions(rows[:, 0], rows[:, 1], rows[:, 3], item_metadata=items)
