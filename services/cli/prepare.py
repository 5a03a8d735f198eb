"""The lab's training data: ml-100k ratings above 3.6 as USER_ID, ITEM_ID, TIMESTAMP.

Written with the csv module rather than pandas: it is one pass over 100,000 lines and
keeps `videorecs up` from importing pandas on every start.
"""

from __future__ import annotations

import csv
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

# Ratings are integers, so "> 3.6" keeps 4 and 5 stars (the lab's "3.6 and above").
RATING_THRESHOLD = 3.6
# The lab shifts every timestamp so the data ends on 1 April 2019 (SIMS time decay).
TIMESTAMP_SHIFT_SECONDS = 660_833_618
CSV_NAME = "DEMO-movie-lens-100k.csv"
HEADER = ("USER_ID", "ITEM_ID", "TIMESTAMP")


@dataclass(frozen=True)
class PreparedData:
    """What `prepare_interactions` wrote."""

    path: Path
    rows: int
    users: int
    items: int
    first_timestamp: int
    last_timestamp: int


class DataError(ValueError):
    """The MovieLens files are missing or malformed."""


def prepare_interactions(
    movielens_dir: Path,
    out_path: Path,
    *,
    threshold: float = RATING_THRESHOLD,
    shift_seconds: int = TIMESTAMP_SHIFT_SECONDS,
) -> PreparedData:
    """Filter and shift u.data into the interactions CSV, written atomically."""
    source = Path(movielens_dir) / "u.data"
    if not source.is_file():
        raise DataError(f"{source} not found: point --data/MOVIELENS_DIR at an ml-100k folder")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    users: set[str] = set()
    items: set[str] = set()
    rows = 0
    first = last = None
    fd, tmp_name = tempfile.mkstemp(prefix=".interactions-", suffix=".csv", dir=out_path.parent)
    try:
        with open(source, encoding="latin-1") as src, os.fdopen(fd, "w", newline="") as dst:
            writer = csv.writer(dst, lineterminator="\n")
            writer.writerow(HEADER)
            for line_no, line in enumerate(src, start=1):
                parts = line.split("\t")
                if len(parts) != 4:
                    raise DataError(f"{source}:{line_no}: expected 4 tab-separated columns")
                user, item, rating, timestamp = parts
                try:
                    keep = float(rating) > threshold
                    shifted = int(timestamp) + shift_seconds
                except ValueError:
                    raise DataError(
                        f"{source}:{line_no}: rating and timestamp must be numbers"
                    ) from None
                if not keep:
                    continue
                writer.writerow((user, item, shifted))
                rows += 1
                users.add(user)
                items.add(item)
                first = shifted if first is None else min(first, shifted)
                last = shifted if last is None else max(last, shifted)
        os.replace(tmp_name, out_path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    if rows == 0 or first is None or last is None:
        raise DataError(f"{source} has no rating above {threshold}")
    return PreparedData(out_path, rows, len(users), len(items), first, last)
