"""The catalog's Alembic migrations go up and down on both databases."""

from __future__ import annotations

import asyncio

from alembic import command

from services.catalog.loader import MIGRATIONS_DIR
from services.common.migrations import alembic_config, upgrade_to_head_async
from tests.catalog.test_loader import table_names

CATALOG_TABLES = {"users", "movies", "reviews", "movie_popularity"}


async def test_upgrade_downgrade_upgrade(database_url: str) -> None:
    await upgrade_to_head_async(MIGRATIONS_DIR, database_url)
    assert await table_names(database_url) == CATALOG_TABLES | {"alembic_version_catalog"}
    # Idempotent: a second upgrade finds nothing to do.
    await upgrade_to_head_async(MIGRATIONS_DIR, database_url)

    config = alembic_config(MIGRATIONS_DIR, database_url)
    await asyncio.to_thread(command.downgrade, config, "base")
    assert await table_names(database_url) == {"alembic_version_catalog"}
    await upgrade_to_head_async(MIGRATIONS_DIR, database_url)
    assert CATALOG_TABLES <= await table_names(database_url)
