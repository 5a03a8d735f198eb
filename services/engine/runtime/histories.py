"""The in-memory view of a dataset group that serving reads: histories and metadata.

Built once from the stored data (`dataset_files`) when a model of the group is loaded,
with whole-column operations (no Python loop per interaction, off the event loop), then
appended to with the PutEvents rows stored after that read (`event_feed.py`), so a
request never queries the database.
Items get a group-wide code (new ones in order of appearance); each deployment maps codes
to its model's item indices.
"""

from __future__ import annotations

import asyncio

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.engine.artifacts import ArtifactStore
from services.engine.dataset_files import (
    InteractionParts,
    RecordParts,
    combine,
    interaction_parts,
    record_parts,
    records,
)

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
        # The highest `interaction` row id the load read: later rows come from the feed.
        self.read_through = 0

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


async def load_group(
    sessionmaker: async_sessionmaker[AsyncSession], artifacts: ArtifactStore, arn: str
) -> GroupData:
    """Read a dataset group's interactions and metadata into memory."""
    where = {"sessionmaker": sessionmaker, "artifacts": artifacts, "group_arn": arn}
    parts = await interaction_parts(**where)
    items = await record_parts(**where, dataset_type="ITEMS")
    users = await record_parts(**where, dataset_type="USERS")
    return await asyncio.to_thread(build_group, arn, parts, items, users)


def build_group(
    arn: str, parts: InteractionParts, items: RecordParts, users: RecordParts
) -> GroupData:
    """`load_group`'s work in one synchronous call, from parts already listed (a batch job
    in the worker process builds its group with it)."""
    group = GroupData(arn)
    group.read_through = parts.last_id
    group.item_attributes = records(items)
    group.user_attributes = records(users)
    _index(group, combine(parts))
    return group


def _index(group: GroupData, table: pa.Table) -> None:
    """Fill `group`'s codes and histories from interactions sorted by time."""
    if table.num_rows == 0:
        return
    # The group is new: its item codes are the dictionary's indices.
    items = pc.dictionary_encode(table["item_id"]).combine_chunks()
    for item_id in items.dictionary.to_pylist():
        group.item_code(item_id)
    item_codes = items.indices.to_numpy().astype(np.int32)
    # Event codes: by lowercased type; "" (no type) like a missing one.
    events = pc.dictionary_encode(
        pc.utf8_lower(pc.fill_null(table["event_type"], ""))
    ).combine_chunks()
    event_map = np.array(
        [group.event_code(t) for t in events.dictionary.to_pylist()], dtype=np.int16
    )
    event_codes = event_map[events.indices.to_numpy()]
    # Histories: rows grouped by user, time order kept within each (a stable sort).
    users = pc.dictionary_encode(table["user_id"]).combine_chunks()
    user_index = users.indices.to_numpy()
    order = np.argsort(user_index, kind="stable")
    bounds = np.flatnonzero(np.diff(user_index[order])) + 1
    starts = np.concatenate([[0], bounds])
    ends = np.concatenate([bounds, [len(order)]])
    names = users.dictionary.to_pylist()
    ordered_items, ordered_events = item_codes[order], event_codes[order]
    for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
        group.histories[names[user_index[order[start]]]] = UserHistory(
            ordered_items[start:end].copy(), ordered_events[start:end].copy()
        )
