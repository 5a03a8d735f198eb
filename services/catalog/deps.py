"""Annotated parameter and dependency aliases shared by the catalog routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query

from services.catalog.genres import ALL_GENRES, GENRE_BY_SLUG
from services.common.db import SessionDep
from services.common.errors import BadRequest
from services.common.ids import MAX_ID, parse_id, quoted

# Ids are 32-bit in the database (MAX_ID); a larger number can only be a bad parameter
# (422), never a driver overflow (500).
MAX_BATCH = 500

UserId = Annotated[int, Path(ge=1, le=MAX_ID, description="MovieLens user id")]
MovieId = Annotated[int, Path(ge=1, le=MAX_ID, description="MovieLens movie id")]


# Async on purpose: FastAPI runs a plain `def` dependency in a worker thread.
async def _genre(
    genre: Annotated[
        str | None, Query(description="genre slug from /genres; absent or `all` for every genre")
    ] = None,
) -> str | None:
    if genre is None or genre == ALL_GENRES:
        return None
    if genre not in GENRE_BY_SLUG:
        raise BadRequest(
            f"genre: unknown genre {genre!r}; use one of {', '.join(GENRE_BY_SLUG)} or all"
        )
    return genre


async def _movie_ids(
    ids: Annotated[str, Query(description=f"comma-separated movie ids, at most {MAX_BATCH}")],
) -> list[int]:
    parts = [part.strip() for part in ids.split(",") if part.strip()]
    if not parts:
        raise BadRequest("ids: give at least one movie id")
    if len(parts) > MAX_BATCH:
        raise BadRequest(f"ids: at most {MAX_BATCH} ids per request, got {len(parts)}")
    movie_ids: dict[int, None] = {}  # keeps the order asked, drops repeats
    for part in parts:
        movie_id = parse_id(part)
        if movie_id is None:
            if part.isascii() and part.isdigit():
                raise BadRequest(f"ids: {quoted(part)} is out of range (1..{MAX_ID})")
            raise BadRequest(f"ids: {quoted(part)} is not a movie id (a positive integer)")
        movie_ids[movie_id] = None
    return list(movie_ids)


GenreDep = Annotated[str | None, Depends(_genre)]
MovieIdsDep = Annotated[list[int], Depends(_movie_ids)]

__all__ = ["MAX_BATCH", "MAX_ID", "GenreDep", "MovieId", "MovieIdsDep", "SessionDep", "UserId"]
