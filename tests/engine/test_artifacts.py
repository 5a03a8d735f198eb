"""Staging directories a killed process left behind are removed when an engine starts;
those still in use (recent) are kept."""

from __future__ import annotations

import os
import time
from pathlib import Path

from services.engine.artifacts import STALE_STAGING_SECONDS, FileArtifactStore


async def test_stale_staging_is_swept_and_recent_kept(tmp_path: Path) -> None:
    store = FileArtifactStore(tmp_path / "artifacts")
    stale, recent = store.staging_dir(), store.staging_dir()
    for folder in (stale, recent):
        folder.mkdir()
        (folder / "part-00000.parquet").write_bytes(b"x")
    old = time.time() - STALE_STAGING_SECONDS - 60
    os.utime(stale, (old, old))
    assert await store.sweep_staging() == 1
    assert not stale.exists()
    assert (recent / "part-00000.parquet").is_file()
