"""Fresh databases for tests: a temp SQLite file, or a new database on the test PostgreSQL."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import asyncpg
import pytest

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def postgres_admin_url() -> str:
    url = os.environ.get("TEST_POSTGRES_URL")
    if not url:
        pytest.fail(
            "TEST_POSTGRES_URL is not set: run the tests with scripts/test (or make test), "
            "which starts a throwaway PostgreSQL"
        )
    return url


async def new_database_url(backend: str, tmp_path: Path) -> str:
    """A database nobody else uses, as an async SQLAlchemy URL."""
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / f'{uuid.uuid4().hex[:8]}.db'}"
    admin = postgres_admin_url()
    name = f"t_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    base = admin.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    return f"{base}/{name}"
