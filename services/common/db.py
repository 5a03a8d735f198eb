"""Async database plumbing: one engine and session factory per service process.

`DATABASE_URL` picks the driver: `postgresql+asyncpg://` or `sqlite+aiosqlite://`.
The session dependency owns the transaction: commit on success, roll back on error.
A database that is down or not migrated yet is a 503 with a plain reason
(`database_problem`), never a 500.
"""

from __future__ import annotations

import traceback
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import event, exc, make_url, text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from services.common.health import ReadinessCheck


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
    if is_sqlite(url) and "timeout" not in make_url(url).query:
        # How long a write waits for another writer's lock before "database is locked"
        # (a 503); `?timeout=<seconds>` in DATABASE_URL sets it.
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


def tables_ready(*tables: str) -> ReadinessCheck:
    """A readiness check that every one of `tables` exists (`SELECT 1` alone passes
    before the migrations have run, while every route would still fail)."""

    async def check(request: Request) -> str | None:
        engine: AsyncEngine = request.app.state.engine
        try:
            async with engine.connect() as conn:
                for table in tables:
                    await conn.execute(text(f"SELECT 1 FROM {table} LIMIT 1"))
        except Exception as error:
            problem = database_problem(error)
            if problem is None:
                raise
            return problem
        return None

    return check


NOT_MIGRATED = "the database is not ready: its tables do not exist yet (migrations not run)"
UNAVAILABLE = "the database is unavailable"
LOCKED = "the database is locked by another writer (SQLite); retry in a moment"
# PostgreSQL SQLSTATEs: undefined table or column (migrations behind the code), and
# classes 08 (connection), 53 (out of connections or memory) and 57 (shutting down).
_NOT_MIGRATED_STATES = frozenset({"42P01", "42703"})
_UNAVAILABLE_CLASSES = ("08", "53", "57", "3D")


def database_problem(error: BaseException) -> str | None:
    """Why the database cannot serve this request, when that is the cause of `error`.

    Such errors are outages (503, retry later), not bugs: a catalog asked before its
    migrations ran, PostgreSQL down or restarting, SQLite's file missing.
    """
    if isinstance(error, exc.DBAPIError):
        message = str(error.orig)
        if message == "database is locked":
            return LOCKED
        state = getattr(error.orig, "sqlstate", None) or ""
        if state in _NOT_MIGRATED_STATES or message.startswith(("no such table", "no such column")):
            return NOT_MIGRATED
        if isinstance(error, (exc.OperationalError, exc.InterfaceError)) or state.startswith(
            _UNAVAILABLE_CLASSES
        ):
            return UNAVAILABLE
        return None
    if isinstance(error, (exc.DisconnectionError, exc.TimeoutError)):
        return UNAVAILABLE
    # asyncpg's connect errors (refused, unknown host, timeout) reach us unwrapped; only
    # count them when they came out of SQLAlchemy's pool, not from some other socket.
    if isinstance(error, OSError) and any(
        "sqlalchemy" in frame.f_code.co_filename
        for frame, _ in traceback.walk_tb(error.__traceback__)
    ):
        return UNAVAILABLE
    return None
