"""Where the loader finds ml-100k: explicit folder, the user's cache, else the official zip.

The licence forbids redistributing ml-100k, so it is never bundled: a folder is given
(`--data` / MOVIELENS_DIR), found in the cache, or downloaded from GroupLens and checked.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
import zipfile
from pathlib import Path

import httpx

from services.catalog.dataset import REQUIRED_FILES

logger = logging.getLogger(__name__)

# GroupLens publishes no checksum of ml-100k.zip and none could be found pinned by a
# reliable source, so the extracted files are checked instead, against the official
# SHA-256 values listed in shared/datasets/README.md (pinned by several projects).
OFFICIAL_SHA256 = {
    "u.data": "06416e597f82b7342361e41163890c81036900f418ad91315590814211dca490",
    "u.item": "553841ebc7de3a0fd0d6b62a204ea30c1e651aacfb2814c7a6584ac52f2c5701",
    "u.user": "f120e114da2e8cf314fd28f99417c94ae9ddf1cb6db8ce0e4b5995d40e90e62c",
}
HOW_TO_POINT = (
    "point the loader at a local copy with --data DIR or MOVIELENS_DIR=DIR "
    "(a folder holding u.user, u.item and u.data)"
)


class DatasetUnavailable(RuntimeError):
    """No usable ml-100k: the message says how to point at a local copy."""


def default_cache_dir() -> Path:
    """$XDG_CACHE_HOME/videorecs/ml-100k, or ~/.cache/videorecs/ml-100k."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "videorecs" / "ml-100k"


def has_ml100k(folder: Path) -> bool:
    return all((folder / name).is_file() for name in REQUIRED_FILES)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def find_data_dir(
    *,
    explicit: Path | None,
    env_dir: Path | None,
    cache_dir: Path | None,
    download_url: str,
    timeout: float = 60.0,
) -> Path:
    """The first of: `explicit` (--data), `env_dir` (MOVIELENS_DIR), the cache, a download."""
    for given, name in ((explicit, "--data"), (env_dir, "MOVIELENS_DIR")):
        if given is not None:
            if not has_ml100k(given):
                raise DatasetUnavailable(
                    f"{name} {given} does not hold u.user, u.item and u.data; {HOW_TO_POINT}"
                )
            return given
    cache = cache_dir or default_cache_dir()
    if has_ml100k(cache):
        return cache
    return download_ml100k(download_url, cache, timeout=timeout)


def download_ml100k(url: str, target: Path, *, timeout: float = 60.0) -> Path:
    """Download and unpack ml-100k.zip into `target`, verifying the data files' SHA-256."""
    target.parent.mkdir(parents=True, exist_ok=True)
    # Unpack next to the target and rename at the end, so a failed or interrupted
    # download never leaves a half-written folder that the next run would trust.
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".ml-100k-") as work:
        archive = Path(work) / "ml-100k.zip"
        logger.info("downloading %s", url)
        try:
            with httpx.stream("GET", url, timeout=timeout, follow_redirects=True) as response:
                response.raise_for_status()
                with archive.open("wb") as handle:
                    for chunk in response.iter_bytes():
                        handle.write(chunk)
        except httpx.HTTPError as exc:
            raise DatasetUnavailable(
                f"MovieLens 100k is not available locally and downloading {url} failed "
                f"({type(exc).__name__}: {exc}); {HOW_TO_POINT}"
            ) from None
        unpacked = Path(work) / "unpacked"
        try:
            with zipfile.ZipFile(archive) as zipped:
                zipped.extractall(unpacked)
        except zipfile.BadZipFile:
            raise DatasetUnavailable(f"{url} is not a zip file; {HOW_TO_POINT}") from None
        folder = unpacked / "ml-100k"
        for name, expected in OFFICIAL_SHA256.items():
            if not (folder / name).is_file() or sha256_of(folder / name) != expected:
                raise DatasetUnavailable(
                    f"{url}: ml-100k/{name} is missing or fails its SHA-256 check; {HOW_TO_POINT}"
                )
        if target.exists():
            shutil.rmtree(target)
        folder.rename(target)
    logger.info("ml-100k verified and unpacked to %s", target)
    return target
