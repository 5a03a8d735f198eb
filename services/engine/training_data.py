"""Build the `TrainingData` of a dataset group from the engine's tables."""

from __future__ import annotations

import json

import numpy as np
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.engine.models import Interaction, ItemRecord, UserRecord
from services.engine.recipes.base import TrainingData


def _metadata(rows: list[tuple[str, str]], ids: np.ndarray) -> dict[str, np.ndarray] | None:
    if not rows:
        return None
    by_id = {key: json.loads(attrs) for key, attrs in rows}
    columns = sorted({c for attrs in by_id.values() for c in attrs})
    out: dict[str, np.ndarray] = {}
    for column in columns:
        values = np.empty(len(ids), dtype=object)
        for i, key in enumerate(ids.tolist()):
            value = by_id.get(key, {}).get(column)
            values[i] = None if value is None else str(value)
        out[column] = values
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
        items_rows = [
            tuple(r)
            for r in (
                await session.execute(
                    select(ItemRecord.item_id, ItemRecord.attributes).where(
                        ItemRecord.dataset_group_arn == group_arn
                    )
                )
            ).all()
        ]
        users_rows = [
            tuple(r)
            for r in (
                await session.execute(
                    select(UserRecord.user_id, UserRecord.attributes).where(
                        UserRecord.dataset_group_arn == group_arn
                    )
                )
            ).all()
        ]
    n = len(rows)
    users = np.array([r[0] for r in rows], dtype=object)
    items = np.array([r[1] for r in rows], dtype=object)
    timestamps = np.fromiter((r[2] for r in rows), dtype=np.int64, count=n)
    user_ids, user_index = (
        np.unique(users, return_inverse=True) if n else (np.empty(0, object), np.empty(0, np.int64))
    )
    item_ids, item_index = (
        np.unique(items, return_inverse=True) if n else (np.empty(0, object), np.empty(0, np.int64))
    )
    order = np.lexsort((timestamps, user_index))
    has_types = any(r[3] is not None for r in rows)
    has_values = any(r[4] is not None for r in rows)
    event_types = np.array([r[3] or "" for r in rows], dtype=object)[order] if has_types else None
    event_values = (
        np.array([np.nan if r[4] is None else r[4] for r in rows], dtype=np.float32)[order]
        if has_values
        else None
    )
    return TrainingData(
        user_ids=user_ids.astype(object),
        item_ids=item_ids.astype(object),
        users=user_index[order].astype(np.int32),
        items=item_index[order].astype(np.int32),
        timestamps=timestamps[order],
        event_types=event_types,
        event_values=event_values,
        item_metadata=_metadata(items_rows, item_ids),  # type: ignore[arg-type]
        user_metadata=_metadata(users_rows, user_ids),  # type: ignore[arg-type]
    )
