"""PutEvents rows into the loaded histories, whichever replica stored them.

Every replica appends events to the shared `interaction` table; each one follows that
table by id (the rows after the last one it has seen) and appends new rows to the groups
it has in memory: at once for the events it stored itself (PutEvents waits for it), and
every EVENTS_POLL_SECONDS for the others'. So a user-personalization campaign answers
from a user's latest events on every replica, without retraining or reloading.

Ids are given out when a row is inserted but become visible when its transaction commits,
so on PostgreSQL a lower id can appear after a higher one: ids skipped over are kept as
gaps and asked for again for GAP_SECONDS (a PutEvents transaction lasts milliseconds).
A group appends only rows after those it read when it was loaded (`GroupData.read_through`),
so a row is never counted twice; the rows the feed passed while the group was loading are
appended before it is published (`adopt`).

Why not LISTEN/NOTIFY: it exists only on PostgreSQL (the embedded engine runs on SQLite
too), and a poll of an indexed id range costs one small query a second.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, or_, select

from services.engine.models import Interaction

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from services.engine.runtime.histories import GroupData

logger = logging.getLogger(__name__)
_COLUMNS = (
    Interaction.id,
    Interaction.dataset_group_arn,
    Interaction.user_id,
    Interaction.item_id,
    Interaction.timestamp,
    Interaction.event_type,
)
GAP_SECONDS = 30.0
MAX_GAPS = 10_000  # a jump wider than this is not an in-flight insert: not waited for
BATCH = 10_000  # rows read per query


class EventFeed:
    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], groups: dict[str, GroupData]
    ) -> None:
        self.sessionmaker = sessionmaker
        self.groups = groups  # the serving registry's, read at each pass
        self.cursor: int | None = None  # the highest id seen (None: not read yet)
        self.gaps: dict[int, float] = {}  # ids skipped over -> when first missed
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        """Begin after the rows stored so far (a group reads those itself when it loads);
        called at startup, before any group is loaded."""
        async with self._lock:
            if self.cursor is None:
                await self._read()

    async def catch_up(self) -> int:
        """Append every row stored since the last pass to its loaded group; rows appended."""
        async with self._lock:
            appended = 0
            while True:
                rows, more = await self._read()
                appended += self._append(rows, self.groups)
                if not more:
                    return appended

    async def adopt(self, group: GroupData) -> None:
        """Before a freshly loaded group is published: append its rows that the feed has
        passed since the group's read (they were skipped, the group not being there yet).
        The caller publishes it with no `await` in between, so no pass runs in the gap."""
        async with self._lock:
            if self.cursor is None or self.cursor <= group.read_through:
                return
            async with self.sessionmaker() as session:
                rows = (
                    await session.execute(
                        select(*_COLUMNS)
                        .where(
                            Interaction.dataset_group_arn == group.arn,
                            Interaction.id > group.read_through,
                            Interaction.id <= self.cursor,
                        )
                        .order_by(Interaction.id)
                    )
                ).all()
            self._append(rows, {group.arn: group})

    async def run(self, interval: float) -> None:
        """`catch_up` forever, every `interval` seconds."""
        while True:
            await asyncio.sleep(interval)
            try:
                await self.catch_up()
            except Exception:  # a database hiccup: the next pass reads the same rows
                logger.exception("reading new events failed")

    async def _read(self) -> tuple[list[Any], bool]:
        async with self.sessionmaker() as session:
            if self.cursor is None:  # see `start`
                latest = await session.scalar(select(func.max(Interaction.id)))
                self.cursor = int(latest or 0)
                return [], False
            now = time.monotonic()
            self.gaps = {i: t for i, t in self.gaps.items() if now - t < GAP_SECONDS}
            after = Interaction.id > self.cursor
            rows = (
                await session.execute(
                    select(*_COLUMNS)
                    .where(or_(after, Interaction.id.in_(list(self.gaps))) if self.gaps else after)
                    .order_by(Interaction.id)
                    .limit(BATCH)
                )
            ).all()
        fresh = [row for row in rows if row.id > self.cursor]
        for row in rows:
            self.gaps.pop(row.id, None)
        if fresh:
            seen = {row.id for row in fresh}
            top = fresh[-1].id
            if top - self.cursor - len(seen) <= MAX_GAPS:
                for missing in range(self.cursor + 1, top):
                    if missing not in seen:
                        self.gaps[missing] = now
            self.cursor = top
        return rows, len(rows) == BATCH

    @staticmethod
    def _append(rows: list[Any], groups: dict[str, GroupData]) -> int:
        by_group: dict[str, list[Any]] = defaultdict(list)
        for row in rows:
            group = groups.get(row.dataset_group_arn)
            if group is not None and row.id > group.read_through:
                by_group[row.dataset_group_arn].append(row)
        for arn, group_rows in by_group.items():
            group = groups[arn]
            # In time order, as training reads them (a call may send events out of order).
            for row in sorted(group_rows, key=lambda r: (r.timestamp, r.id)):
                group.append(row.user_id, row.item_id, row.event_type)
        return sum(len(v) for v in by_group.values())
