"""Read a dataset group's tables and index them with `TrainingData.from_interactions`.

That classmethod is the one builder of `TrainingData` (the recipe tests use it directly):
production only turns database rows into its raw columns, so both index the catalogue the
same way, with the items that exist only in an Items dataset kept in it, as in Personalize.
"""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.engine.models import Interaction, ItemRecord, UserRecord
from services.engine.recipes.base import TrainingData


def _rows(attributes: list[tuple[str, str]]) -> dict[str, dict[str, str]] | None:
    """{id: {column: value as text}} from (id, JSON attributes) rows; None without rows."""
    if not attributes:
        return None
    out: dict[str, dict[str, str]] = {}
    for key, text in attributes:
        # Recipes read metadata as strings (e.g. YEAR "1995"); a null is simply absent.
        out[key] = {name: str(v) for name, v in json.loads(text).items() if v is not None}
    return out


async def build_training_data(
    sessionmaker: async_sessionmaker[AsyncSession],
    group_arn: str,
    *,
    event_type: str | None = None,
    event_value_threshold: float | None = None,
) -> TrainingData:
    stmt = select(
        Interaction.user_id,
        Interaction.item_id,
        Interaction.timestamp,
        Interaction.event_type,
        Interaction.event_value,
    ).where(Interaction.dataset_group_arn == group_arn)
    if event_type:
        stmt = stmt.where(Interaction.event_type == event_type)
    if event_value_threshold is not None:
        stmt = stmt.where(Interaction.event_value >= event_value_threshold)
    async with sessionmaker() as session:
        rows = (await session.execute(stmt)).all()
        items_rows = (
            await session.execute(
                select(ItemRecord.item_id, ItemRecord.attributes).where(
                    ItemRecord.dataset_group_arn == group_arn
                )
            )
        ).all()
        users_rows = (
            await session.execute(
                select(UserRecord.user_id, UserRecord.attributes).where(
                    UserRecord.dataset_group_arn == group_arn
                )
            )
        ).all()
    # Columns only when some row has them: recipes treat None as "the dataset has no such
    # column"; within a column a missing type is "" and a missing value NaN.
    has_types = any(r[3] is not None for r in rows)
    has_values = any(r[4] is not None for r in rows)
    return TrainingData.from_interactions(
        [r[0] for r in rows],
        [r[1] for r in rows],
        [r[2] for r in rows],
        event_types=[r[3] or "" for r in rows] if has_types else None,
        event_values=[float("nan") if r[4] is None else r[4] for r in rows] if has_values else None,
        item_metadata=_rows([(r[0], r[1]) for r in items_rows]),
        user_metadata=_rows([(r[0], r[1]) for r in users_rows]),
    )
