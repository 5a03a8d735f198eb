"""Frontend settings: optional downstreams, and a clear exit on a bad value."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.common.config import load_settings
from services.frontend.config import Settings


def test_unset_urls_are_not_proxied() -> None:
    settings = load_settings(Settings, CATALOG_URL="http://catalog:8001/", REGISTRY_URL="  ")
    assert settings.downstreams() == {"catalog": "http://catalog:8001"}


def test_bad_url_names_the_variable() -> None:
    with pytest.raises(SystemExit, match="CATALOG_URL: Value error, must be an http"):
        load_settings(Settings, CATALOG_URL="catalog:8001")


def test_frontend_dir_must_hold_the_index(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="FRONTEND_DIR: .*holds no templates/index.html"):
        load_settings(Settings, FRONTEND_DIR=tmp_path)
