"""The admin pages' signed-in sessions, in the registry database.

The registry's `SessionStore` (services.common.admin_sessions): a sign-out deletes the
row, so it holds on every replica and after a restart. Each call is its own short
transaction, apart from the request's, so a write that fails cannot undo a sign-out.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.common.time import utc_now
from services.registry.models import AdminSessionRow


class DatabaseSessionStore:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker

    async def add(self, key: str, *, user: str, max_age: float) -> None:
        now = utc_now()
        async with self._sessionmaker() as db, db.begin():
            # Sweep on sign-in, so the table holds about as many rows as live sessions.
            await db.execute(delete(AdminSessionRow).where(AdminSessionRow.expires_at <= now))
            db.add(
                AdminSessionRow(
                    key=key,
                    username=user,
                    created_at=now,
                    expires_at=now + timedelta(seconds=max_age),
                )
            )

    async def user_of(self, key: str) -> str | None:
        query = select(AdminSessionRow.username).where(
            AdminSessionRow.key == key, AdminSessionRow.expires_at > utc_now()
        )
        async with self._sessionmaker() as db:
            return await db.scalar(query)

    async def revoke(self, key: str) -> None:
        async with self._sessionmaker() as db, db.begin():
            await db.execute(delete(AdminSessionRow).where(AdminSessionRow.key == key))
