"""Async database plumbing: one engine and session factory per service process.

`DATABASE_URL` picks the driver: `postgresql+asyncpg://` or `sqlite+aiosqlite://`.
The session dependency owns the transaction: commit on success, roll back on error.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def create_engine(
    url: str, *, pool_size: int = 10, echo: bool = False, isolation_level: str | None = None
) -> AsyncEngine:
    """Create the async engine, with SQLite set up for concurrent readers.

    `isolation_level="AUTOCOMMIT"` suits read-only APIs that run one statement per request:
    no BEGIN/COMMIT round trips, and the pre-ping is a single round trip too.
    """
    kwargs: dict[str, Any] = {"echo": echo}
    if isolation_level is not None:
        kwargs["isolation_level"] = isolation_level
    if is_sqlite(url):
        kwargs["connect_args"] = {"timeout": 30}
    else:
        kwargs.update(pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)
    engine = create_async_engine(url, **kwargs)
    if is_sqlite(url):

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _: Any) -> None:
            cursor = dbapi_conn.cursor()
            # WAL lets readers run while the loader writes; foreign keys are off by default.
            if ":memory:" not in url:
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

    return engine


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """FastAPI dependency: a session whose transaction commits when the route succeeds."""
    sessionmaker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    async with sessionmaker() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


SessionDep = Annotated[AsyncSession, Depends(get_session)]


async def database_ready(request: Request) -> str | None:
    """Readiness check: the database answers `SELECT 1`."""
    engine: AsyncEngine = request.app.state.engine
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
    return None
