"""The in-memory view of a dataset group that serving reads: histories and metadata.

Built once from the database when a model of the group is loaded, then appended to by
PutEvents, so a request never queries the database. Items get a group-wide code in
order of first appearance; each deployment maps codes to its model's item indices.
"""

from __future__ import annotations

import json
from collections import defaultdict

import numpy as np
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.engine.models import Interaction, ItemRecord, UserRecord

EMPTY = np.empty(0, dtype=np.int64)


class UserHistory:
    """One user's interactions, oldest first: item codes and event-type codes."""

    __slots__ = ("events", "items")

    def __init__(self, items: np.ndarray, events: np.ndarray) -> None:
        self.items = items
        self.events = events

    def append(self, item: int, event: int) -> None:
        # Copy-on-append: readers holding the old arrays keep a consistent view.
        self.items = np.append(self.items, np.int32(item))
        self.events = np.append(self.events, np.int16(event))


class GroupData:
    def __init__(self, arn: str) -> None:
        self.arn = arn
        self.item_codes: dict[str, int] = {}
        self.item_ids: list[str] = []
        self.event_codes: dict[str, int] = {}
        self.histories: dict[str, UserHistory] = {}
        self.item_attributes: dict[str, dict[str, str]] = {}
        self.user_attributes: dict[str, dict[str, str]] = {}

    def item_code(self, item_id: str) -> int:
        code = self.item_codes.get(item_id)
        if code is None:
            code = self.item_codes[item_id] = len(self.item_ids)
            self.item_ids.append(item_id)
        return code

    def event_code(self, event_type: str | None) -> int:
        key = (event_type or "").lower()  # event types compare case-insensitively
        code = self.event_codes.get(key)
        if code is None:
            code = self.event_codes[key] = len(self.event_codes)
        return code

    def append(self, user_id: str, item_id: str, event_type: str | None) -> None:
        item, event = self.item_code(item_id), self.event_code(event_type)
        history = self.histories.get(user_id)
        if history is None:
            self.histories[user_id] = UserHistory(
                np.array([item], np.int32), np.array([event], np.int16)
            )
        else:
            history.append(item, event)


async def load_group(sessionmaker: async_sessionmaker[AsyncSession], arn: str) -> GroupData:
    """Read a dataset group's interactions and metadata into memory."""
    group = GroupData(arn)
    items: dict[str, list[int]] = defaultdict(list)
    events: dict[str, list[int]] = defaultdict(list)
    async with sessionmaker() as session:
        rows = await session.execute(
            select(Interaction.user_id, Interaction.item_id, Interaction.event_type)
            .where(Interaction.dataset_group_arn == arn)
            .order_by(Interaction.timestamp, Interaction.id)
        )
        for user_id, item_id, event_type in rows:
            items[user_id].append(group.item_code(item_id))
            events[user_id].append(group.event_code(event_type))
        for item_id, attributes in await session.execute(
            select(ItemRecord.item_id, ItemRecord.attributes).where(
                ItemRecord.dataset_group_arn == arn
            )
        ):
            group.item_attributes[item_id] = json.loads(attributes)
        for user_id, attributes in await session.execute(
            select(UserRecord.user_id, UserRecord.attributes).where(
                UserRecord.dataset_group_arn == arn
            )
        ):
            group.user_attributes[user_id] = json.loads(attributes)
    for user_id, user_items in items.items():
        group.histories[user_id] = UserHistory(
            np.asarray(user_items, dtype=np.int32), np.asarray(events[user_id], dtype=np.int16)
        )
    return group
