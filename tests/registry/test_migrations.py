"""The registry's Alembic migrations: up, down, and no drift from the models."""

from __future__ import annotations

import asyncio
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData, inspect, pool
from sqlalchemy.ext.asyncio import create_async_engine

from services.common.migrations import alembic_config, upgrade_to_head_async
from services.registry.main import MIGRATIONS_DIR
from services.registry.models import Model


def _inspect(sync_conn: Any) -> tuple[set[str], list[Any]]:
    # Compare against our table only: other services' models share SQLModel.metadata.
    ours = MetaData()
    Model.__table__.to_metadata(ours)  # type: ignore[attr-defined]
    context = MigrationContext.configure(
        sync_conn, opts={"compare_type": True, "version_table": "alembic_version_registry"}
    )
    return set(inspect(sync_conn).get_table_names()), compare_metadata(context, ours)


async def _tables_and_drift(url: str) -> tuple[set[str], list[Any]]:
    engine = create_async_engine(url, poolclass=pool.NullPool)
    async with engine.connect() as conn:
        result = await conn.run_sync(_inspect)
    await engine.dispose()
    return result


async def test_upgrade_matches_the_models_and_downgrades(database_url: str) -> None:
    await upgrade_to_head_async(MIGRATIONS_DIR, database_url)
    tables, drift = await _tables_and_drift(database_url)
    assert {"registered_model", "alembic_version_registry"} <= tables
    assert drift == []

    config = alembic_config(MIGRATIONS_DIR, database_url)
    await asyncio.to_thread(command.downgrade, config, "base")
    tables, _ = await _tables_and_drift(database_url)
    assert "registered_model" not in tables
    # And up again: the chain is repeatable.
    await upgrade_to_head_async(MIGRATIONS_DIR, database_url)
    tables, drift = await _tables_and_drift(database_url)
    assert "registered_model" in tables
    assert drift == []
