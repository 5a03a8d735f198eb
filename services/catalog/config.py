"""Catalog settings, read from the environment."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from services.common.config import DatabaseSettings, load_settings

OFFICIAL_ML100K_URL = "https://files.grouplens.org/datasets/movielens/ml-100k.zip"


class Settings(DatabaseSettings):
    """DATABASE_URL is required; the MovieLens paths only matter to the loader."""

    HOST: str = "127.0.0.1"
    PORT: int = 8001
    # Where the loader finds ml-100k when no --data is given (see dataset.find_data_dir).
    MOVIELENS_DIR: Path | None = None
    MOVIELENS_POSTERS: Path | None = None
    # None means the user's cache directory ($XDG_CACHE_HOME or ~/.cache)/videorecs/ml-100k.
    MOVIELENS_CACHE_DIR: Path | None = None
    MOVIELENS_DOWNLOAD_URL: str = OFFICIAL_ML100K_URL
    MOVIELENS_DOWNLOAD_TIMEOUT: float = 60.0


@lru_cache
def get_settings() -> Settings:
    """The process's settings; exits naming any missing or invalid variable."""
    return load_settings(Settings)
