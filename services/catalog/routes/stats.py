"""Dataset counts, computed from the database."""

from __future__ import annotations

from fastapi import APIRouter

from services.catalog import crud
from services.catalog.deps import SessionDep
from services.catalog.models import StatsPublic

router = APIRouter(prefix="/stats", tags=["stats"])


@router.get("", summary="Catalog counts", operation_id="stats-get")
async def get_stats(session: SessionDep) -> StatsPublic:
    """Users, movies and reviews, and the 4-5 star reviews with their users and movies."""
    return await crud.stats(session=session)
