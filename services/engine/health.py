"""Readiness checks of the engine (for GET /readyz)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import Request
from sqlalchemy import text

if TYPE_CHECKING:
    from services.engine.context import EngineContext


async def database_ready(request: Request) -> str | None:
    """The engine's database answers `SELECT 1`."""
    ctx: EngineContext = request.app.state.engine
    async with ctx.db.connect() as conn:
        await conn.execute(text("SELECT 1"))
    return None


async def campaigns_loaded(request: Request) -> str | None:
    """ACTIVE campaigns found at startup have their models in memory."""
    ctx: EngineContext = request.app.state.engine
    loading = sum(1 for key in ctx.tasks if key.startswith("warm:"))
    return f"loading {loading} campaign model(s)" if loading else None
