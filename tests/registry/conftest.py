"""Registry fixtures: a fresh SQLite file, and a real engine to check campaigns against."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.registry.engine import Engine, lab_engine


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'registry.db'}"


@pytest.fixture(scope="session")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """The real engine, serving three ACTIVE campaigns (one per model type)."""
    with lab_engine(tmp_path_factory.mktemp("engine")) as running_engine:
        yield running_engine
