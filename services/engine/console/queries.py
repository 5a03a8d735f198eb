"""The few reads the API has no operation for: record counts and item titles.

Read-only, keyword-only, on the engine's own tables.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.engine.dataset_files import stored_rows
from services.engine.models import Interaction, ItemRecord, UserRecord

RECORD_MODELS: dict[str, Any] = {
    "INTERACTIONS": Interaction,
    "ITEMS": ItemRecord,
    "USERS": UserRecord,
}
TITLE_FIELD = "TITLE"


async def record_count(
    *, sessionmaker: async_sessionmaker[AsyncSession], group_arn: str, dataset_type: str
) -> int | None:
    """Rows a dataset holds now (None for a type the engine stores no rows for)."""
    model = RECORD_MODELS.get(dataset_type)
    if model is None:
        return None
    async with sessionmaker() as session:
        stmt = select(func.count()).select_from(model).where(model.dataset_group_arn == group_arn)
        rows = int((await session.execute(stmt)).scalar_one())
        if dataset_type == "INTERACTIONS":  # imported rows live in Parquet sets
            rows += await stored_rows(session, group_arn)
        return rows


async def item_details(
    *, sessionmaker: async_sessionmaker[AsyncSession], group_arn: str, item_ids: list[str]
) -> dict[str, dict[str, Any]]:
    """Attributes (TITLE, GENRES...) of the given items from the group's Items dataset."""
    if not item_ids:
        return {}
    async with sessionmaker() as session:
        rows = await session.execute(
            select(ItemRecord.item_id, ItemRecord.attributes).where(
                ItemRecord.dataset_group_arn == group_arn, ItemRecord.item_id.in_(item_ids)
            )
        )
        return {item_id: json.loads(attributes) for item_id, attributes in rows}
