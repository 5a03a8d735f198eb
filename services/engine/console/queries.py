"""The few reads the API has no operation for: record counts and item titles.

Read-only, keyword-only, on the engine's own stored datasets.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.engine import dataset_files
from services.engine.arns import dataset_arn_of
from services.engine.models import Interaction

if TYPE_CHECKING:
    from services.engine.artifacts import ArtifactStore

TITLE_FIELD = "TITLE"


async def record_count(
    *,
    sessionmaker: async_sessionmaker[AsyncSession],
    artifacts: ArtifactStore,
    group_arn: str,
    dataset_type: str,
) -> int | None:
    """Rows a dataset holds now: interactions imported and sent as events; distinct items
    or users (None for a type the engine stores no rows for)."""
    if dataset_type in dataset_files.KEY_FIELDS:
        parts = await dataset_files.record_parts(
            sessionmaker=sessionmaker,
            artifacts=artifacts,
            group_arn=group_arn,
            dataset_type=dataset_type,
        )
        return await asyncio.to_thread(dataset_files.count_records, parts)
    if dataset_type != "INTERACTIONS":
        return None
    async with sessionmaker() as session:
        stmt = (
            select(func.count())
            .select_from(Interaction)
            .where(Interaction.dataset_group_arn == group_arn)
        )
        rows = int((await session.execute(stmt)).scalar_one())
        # Imported rows live in Parquet sets.
        return rows + await dataset_files.stored_rows(
            session, dataset_arn_of(group_arn, "INTERACTIONS")
        )


async def item_details(
    *,
    sessionmaker: async_sessionmaker[AsyncSession],
    artifacts: ArtifactStore,
    group_arn: str,
    item_ids: list[str],
) -> dict[str, dict[str, Any]]:
    """Attributes (TITLE, GENRES...) of the given items from the group's Items dataset."""
    if not item_ids:
        return {}
    parts = await dataset_files.record_parts(
        sessionmaker=sessionmaker, artifacts=artifacts, group_arn=group_arn, dataset_type="ITEMS"
    )
    return await asyncio.to_thread(dataset_files.records, parts, item_ids)
