"""Movies: one, a batch, and the most popular (optionally within a genre)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from services.catalog import crud
from services.catalog.deps import GenreDep, MovieId, MovieIdsDep, SessionDep
from services.catalog.models import MoviePublic, MoviesPublic, PopularMoviesPublic
from services.common.errors import NotFound

router = APIRouter(prefix="/movies", tags=["movies"])


@router.get("", summary="Get movies by id", operation_id="movies-batch")
async def get_movies(session: SessionDep, ids: MovieIdsDep) -> MoviesPublic:
    """Up to 500 movies in the order asked; ids not in the catalog are listed in `missing`."""
    found = await crud.get_movies(session=session, movie_ids=ids)
    data = [found[i] for i in ids if i in found]
    missing = [i for i in ids if i not in found]
    return MoviesPublic.model_validate({"data": data, "count": len(data), "missing": missing})


@router.get("/popular", summary="Most popular movies", operation_id="movies-popular")
async def popular_movies(
    session: SessionDep, genre: GenreDep, limit: Annotated[int, Query(ge=1, le=500)] = 25
) -> PopularMoviesPublic:
    """Most 4-5 star reviews first, ties by movie id; `count` is every candidate in the genre."""
    return await crud.popular_movies(session=session, genre=genre, limit=limit)


@router.get(
    "/{movie_id}",
    summary="Get a movie",
    operation_id="movies-get",
    responses={404: {"description": "No movie with this id"}},
)
async def get_movie(session: SessionDep, movie_id: MovieId) -> MoviePublic:
    """One movie with its genres (slugs in u.genre order) and poster URL."""
    movie = await crud.get_movie(session=session, movie_id=movie_id)
    if movie is None:
        raise NotFound(f"movie {movie_id} not found")
    return movie
