"""The event feed: PutEvents rows stored by any replica reach the loaded histories once
each, in time order, including rows whose ids become visible late (commit order)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlmodel import SQLModel

from services.engine.models import Interaction
from services.engine.runtime.event_feed import EventFeed
from services.engine.runtime.histories import GroupData

GROUP = "arn:aws:personalize:us-east-1:000000000000:dataset-group/g"
OTHER = "arn:aws:personalize:us-east-1:000000000000:dataset-group/other"


async def _feed(tmp_path: Path) -> tuple[EventFeed, dict[str, GroupData], Any]:
    db = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'engine.db'}")
    async with db.begin() as conn:
        await conn.run_sync(SQLModel.metadata.create_all, tables=[Interaction.__table__])
    groups: dict[str, GroupData] = {}
    return EventFeed(async_sessionmaker(db), groups), groups, db


async def _store(db: Any, *rows: tuple[int, str, str, str, int]) -> None:
    """Rows (id, group, user, item, time) as PutEvents stores them, ids given explicitly
    to play a late commit."""
    async with db.begin() as conn:
        await conn.execute(
            insert(Interaction),
            [
                {
                    "id": i,
                    "dataset_group_arn": group,
                    "user_id": user,
                    "item_id": item,
                    "timestamp": when,
                    "event_type": "watch",
                    "from_events": True,
                }
                for i, group, user, item, when in rows
            ],
        )


def _items(group: GroupData, user: str) -> list[str]:
    return [group.item_ids[code] for code in group.histories[user].items.tolist()]


async def test_rows_reach_loaded_groups_once_in_time_order(tmp_path: Path) -> None:
    feed, groups, db = await _feed(tmp_path)
    await _store(db, (1, GROUP, "u1", "old", 5))  # before the feed starts: the load reads it
    await feed.start()
    group = groups[GROUP] = GroupData(GROUP)
    group.read_through = 1
    # A call's events out of time order; another group's row, not loaded, is skipped.
    await _store(db, (2, GROUP, "u1", "b", 20), (3, GROUP, "u1", "a", 10), (4, OTHER, "x", "z", 1))
    assert await feed.catch_up() == 2
    assert _items(group, "u1") == ["a", "b"]
    assert await feed.catch_up() == 0  # nothing new: nothing appended twice
    assert _items(group, "u1") == ["a", "b"]


async def test_an_id_that_commits_late_is_not_lost(tmp_path: Path) -> None:
    feed, groups, db = await _feed(tmp_path)
    await feed.start()
    group = groups[GROUP] = GroupData(GROUP)
    # Id 6 commits before id 5 (PostgreSQL gives ids out at insert, not at commit).
    await _store(db, (6, GROUP, "u1", "six", 60))
    assert await feed.catch_up() == 1
    assert set(feed.gaps) == {1, 2, 3, 4, 5}
    await _store(db, (5, GROUP, "u1", "five", 50))
    assert await feed.catch_up() == 1
    assert _items(group, "u1") == ["six", "five"]
    assert set(feed.gaps) == {1, 2, 3, 4}


async def test_a_group_loaded_meanwhile_gets_the_rows_the_feed_passed(tmp_path: Path) -> None:
    feed, groups, db = await _feed(tmp_path)
    await feed.start()
    # The group reads its rows (through id 1); rows 2-3 are stored while it loads, and
    # the feed passes them (the group is not published yet).
    await _store(db, (1, GROUP, "u1", "read", 1))
    loading = GroupData(GROUP)
    loading.append("u1", "read", "watch")
    loading.read_through = 1
    await _store(db, (2, GROUP, "u1", "during", 2), (3, GROUP, "u2", "during", 3))
    assert await feed.catch_up() == 0
    await feed.adopt(loading)
    groups[GROUP] = loading
    assert _items(loading, "u1") == ["read", "during"]
    assert _items(loading, "u2") == ["during"]
    assert await feed.catch_up() == 0


async def test_ids_of_deleted_rows_are_not_reused(tmp_path: Path) -> None:
    """A deleted group's rows were the newest: SQLite used to give their ids out again,
    below the feed's cursor, and the next events were never appended."""
    feed, groups, db = await _feed(tmp_path)
    await feed.start()
    group = groups[GROUP] = GroupData(GROUP)
    async with db.begin() as conn:
        row = {"user_id": "x", "item_id": "z", "timestamp": 1, "from_events": True}
        await conn.execute(insert(Interaction), [{**row, "dataset_group_arn": OTHER}] * 3)
    assert await feed.catch_up() == 0
    async with db.begin() as conn:
        await conn.execute(delete(Interaction).where(Interaction.dataset_group_arn == OTHER))
        await conn.execute(
            insert(Interaction),
            {**row, "dataset_group_arn": GROUP, "user_id": "u1", "item_id": "new"},
        )
    assert await feed.catch_up() == 1
    assert _items(group, "u1") == ["new"]
