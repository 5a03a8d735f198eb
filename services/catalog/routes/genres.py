"""The genre list every genre choice is built from."""

from __future__ import annotations

from fastapi import APIRouter

from services.catalog.genres import GENRES
from services.catalog.models import GenrePublic, GenresPublic

router = APIRouter(prefix="/genres", tags=["genres"])


@router.get("", summary="List genres", operation_id="genres-list")
async def list_genres() -> GenresPublic:
    """All 19 MovieLens genres (unknown and the 18 named ones) with display names."""
    data = [GenrePublic(slug=g.slug, name=g.name, index=g.index) for g in GENRES]
    return GenresPublic(data=data, count=len(data))
