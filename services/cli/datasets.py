"""Where ml-100k and the lab's poster file are found when no path is given."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# The shared datasets folder next to a checkout (how the lab machines are laid out).
SHARED_DATASETS = Path("..") / "shared" / "datasets"


def _candidates(relative: Path) -> list[Path]:
    return [Path.cwd() / relative, PROJECT_ROOT / relative]


def resolve_movielens_dir(explicit: Path | None) -> Path:
    """--data, then MOVIELENS_DIR, then ../shared/datasets/ml-100k, then the catalog's
    cache-or-download logic (~/.cache/videorecs/ml-100k)."""
    from services.catalog.config import OFFICIAL_ML100K_URL
    from services.catalog.sources import find_data_dir

    env_dir = os.environ.get("MOVIELENS_DIR")
    if explicit is None and not env_dir:
        for candidate in _candidates(SHARED_DATASETS / "ml-100k"):
            if (candidate / "u.data").is_file():
                return candidate.resolve()
    cache = os.environ.get("MOVIELENS_CACHE_DIR")
    found = find_data_dir(
        explicit=explicit,
        env_dir=Path(env_dir) if env_dir else None,
        cache_dir=Path(cache) if cache else None,
        download_url=os.environ.get("MOVIELENS_DOWNLOAD_URL", OFFICIAL_ML100K_URL),
    )
    return found.resolve()


def resolve_posters(explicit: Path | None, movielens_dir: Path) -> Path | None:
    """--posters, then MOVIELENS_POSTERS, then ml-100k-posters/u.item beside the data."""
    if explicit is not None:
        if not explicit.is_file():
            raise SystemExit(f"--posters {explicit} is not a file")
        return explicit.resolve()
    env = os.environ.get("MOVIELENS_POSTERS")
    if env:
        if not Path(env).is_file():
            raise SystemExit(f"MOVIELENS_POSTERS={env} is not a file")
        return Path(env).resolve()
    sibling = movielens_dir.parent / "ml-100k-posters" / "u.item"
    return sibling.resolve() if sibling.is_file() else None
