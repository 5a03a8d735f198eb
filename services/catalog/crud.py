"""Keyword-only async queries of the catalog; routes turn None into 404."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog.dataset import POSITIVE_RATING
from services.catalog.genres import ALL_GENRES, genre_slugs
from services.catalog.models import (
    Movie,
    MoviePopularity,
    MoviePublic,
    PopularMoviesPublic,
    RatingCount,
    Review,
    ReviewsPublic,
    StatsPublic,
    User,
    UserDetail,
    UserPublic,
    UsersPublic,
)

# Plain column selects (not ORM entities): no identity map, fewer objects per request.
_users = User.__table__.c  # type: ignore[attr-defined]
_movies = Movie.__table__.c  # type: ignore[attr-defined]
_reviews = Review.__table__.c  # type: ignore[attr-defined]
_popularity = MoviePopularity.__table__.c  # type: ignore[attr-defined]
USER_COLUMNS = (
    _users.id,
    _users.age,
    _users.gender,
    _users.occupation,
    _users.zip_code,
    _users.review_count,
)
MOVIE_COLUMNS = (
    _movies.id,
    _movies.title,
    _movies.year,
    _movies.release_date,
    _movies.imdb_url,
    _movies.poster_url,
    _movies.genre_flags,
)


def _user(row: Sequence[Any]) -> dict[str, Any]:
    uid, age, gender, occupation, zip_code, review_count = row[:6]
    return {
        "id": uid,
        "age": age,
        "gender": gender,
        "occupation": occupation,
        "zip_code": zip_code,
        "review_count": review_count,
    }


def movie_fields(row: Sequence[Any]) -> dict[str, Any]:
    """MoviePublic's fields from the first len(MOVIE_COLUMNS) values of a row.

    Hot paths build plain dicts and validate them once, at the top-level response
    model, rather than constructing and re-validating each nested model by hand.
    """
    mid, title, year, released, imdb_url, poster_url, flags = row[:7]
    return {
        "id": mid,
        "title": title,
        "year": year,
        "release_date": released,
        "imdb_url": imdb_url,
        "poster_url": poster_url,
        "genres": genre_slugs(flags),
    }


def review_summary(counts: dict[int, int], total: int) -> list[RatingCount]:
    """One line per star value, 5 down to 1, zeros included, labelled by the real rating."""
    return [
        RatingCount(
            rating=stars,
            count=counts.get(stars, 0),
            percent=round(100 * counts.get(stars, 0) / total, 1) if total else 0.0,
        )
        for stars in range(5, 0, -1)
    ]


def _param(name: str) -> sa.BindParameter[int]:
    return sa.bindparam(name, type_=sa.Integer)


# Statements are built once, with bound parameters: constructing a select with joins and
# subqueries costs more CPU per request than running it (SQLAlchemy also caches the SQL).
_user_detail = sa.select(
    *USER_COLUMNS,
    sa.select(sa.func.max(_users.id)).where(_users.id < _param("user_id")).scalar_subquery(),
    sa.select(sa.func.min(_users.id)).where(_users.id > _param("user_id")).scalar_subquery(),
    *(
        sa.select(sa.func.count())
        .where(_reviews.user_id == _param("user_id"), _reviews.rating == stars)
        .scalar_subquery()
        for stars in range(5, 0, -1)
    ),
).where(_users.id == _param("user_id"))

_random_user_id = sa.select(_users.id).order_by(sa.func.random()).limit(1)

_user_count = sa.select(sa.func.count()).select_from(User).scalar_subquery()
_users_page = (
    sa.select(*USER_COLUMNS, _user_count)
    .order_by(_users.id)
    .offset(_param("offset"))
    .limit(_param("limit"))
)

_top_reviews = (
    sa.select(*MOVIE_COLUMNS, _reviews.rating, _reviews.timestamp)
    .join_from(Review, Movie, _reviews.movie_id == _movies.id)
    .where(_reviews.user_id == _param("user_id"))
    .order_by(_reviews.rating.desc(), _reviews.timestamp.desc(), _reviews.movie_id)
    .limit(_param("limit"))
    .subquery()
)
# One round trip: the user's row (review_count, or no row for an unknown user)
# outer-joined to the top reviews; a user without reviews gives one row of NULLs.
_user_reviews = (
    sa.select(_users.review_count, *_top_reviews.c)
    .select_from(User)
    .outerjoin(_top_reviews, sa.true())
    .where(_users.id == _param("user_id"))
    .order_by(_top_reviews.c.rating.desc(), _top_reviews.c.timestamp.desc(), _top_reviews.c.id)
)

_movies_by_id = sa.select(*MOVIE_COLUMNS).where(
    _movies.id.in_(sa.bindparam("movie_ids", expanding=True))
)

_genre = sa.bindparam("genre", type_=sa.String)
_popular = (
    sa.select(
        *MOVIE_COLUMNS,
        _popularity.positive_reviews,
        sa.select(sa.func.count())
        .select_from(MoviePopularity)
        .where(_popularity.genre == _genre)
        .scalar_subquery(),
    )
    .join_from(MoviePopularity, Movie, _popularity.movie_id == _movies.id)
    .where(_popularity.genre == _genre)
    .order_by(_popularity.positive_reviews.desc(), _popularity.movie_id)
    .limit(_param("limit"))
)


async def get_user(*, session: AsyncSession, user_id: int) -> UserDetail | None:
    """The user, their neighbours and their count per star value, in one query."""
    row = (await session.execute(_user_detail, {"user_id": user_id})).first()
    if row is None:
        return None
    counts = dict(zip(range(5, 0, -1), row[8:13], strict=True))
    return UserDetail(
        **_user(row),
        review_summary=review_summary(counts, sum(counts.values())),
        previous_id=row[6],
        next_id=row[7],
    )


async def random_user_id(*, session: AsyncSession) -> int | None:
    return (await session.execute(_random_user_id)).scalar()


async def list_users(*, session: AsyncSession, offset: int, limit: int) -> UsersPublic:
    rows = (await session.execute(_users_page, {"offset": offset, "limit": limit})).all()
    if rows:
        count = rows[0][6]
    else:  # past the end: the page is empty, the total still counts
        count = (await session.execute(sa.select(_user_count))).scalar_one()
    return UsersPublic(data=[UserPublic(**_user(row)) for row in rows], count=count)


async def user_reviews(*, session: AsyncSession, user_id: int, limit: int) -> ReviewsPublic | None:
    """The user's reviews, best first, then newest, then by movie id; None if no such user."""
    params = {"user_id": user_id, "limit": limit}
    rows = (await session.execute(_user_reviews, params)).all()
    if not rows:
        return None
    data = [
        {"movie": movie_fields(row[1:]), "rating": row[8], "timestamp": row[9]}
        for row in rows
        if row[1] is not None
    ]
    return ReviewsPublic.model_validate({"data": data, "count": rows[0][0]})


async def get_movies(
    *, session: AsyncSession, movie_ids: Sequence[int]
) -> dict[int, dict[str, Any]]:
    """MoviePublic fields of the movies found among `movie_ids`, by id."""
    rows = (await session.execute(_movies_by_id, {"movie_ids": list(movie_ids)})).all()
    return {row[0]: movie_fields(row) for row in rows}


async def get_movie(*, session: AsyncSession, movie_id: int) -> MoviePublic | None:
    found = await get_movies(session=session, movie_ids=[movie_id])
    return MoviePublic.model_validate(found[movie_id]) if movie_id in found else None


async def popular_movies(
    *, session: AsyncSession, genre: str | None, limit: int
) -> PopularMoviesPublic:
    """Most 4-5 star reviews first, ties by movie id; from the table the loader precomputes."""
    params = {"genre": genre or ALL_GENRES, "limit": limit}
    rows = (await session.execute(_popular, params)).all()
    data = [{**movie_fields(row), "positive_reviews": row[7]} for row in rows]
    return PopularMoviesPublic.model_validate({"data": data, "count": rows[0][8] if rows else 0})


_positive = _reviews.rating >= POSITIVE_RATING


def _count_reviews(expr: Any, *where: Any) -> Any:
    return sa.select(expr).select_from(Review).where(*where).scalar_subquery()


_stats = sa.select(
    sa.select(sa.func.count()).select_from(User).scalar_subquery(),
    sa.select(sa.func.count()).select_from(Movie).scalar_subquery(),
    _count_reviews(sa.func.count()),
    _count_reviews(sa.func.count(), _positive),
    _count_reviews(sa.func.count(sa.distinct(_reviews.user_id)), _positive),
    _count_reviews(sa.func.count(sa.distinct(_reviews.movie_id)), _positive),
)


async def stats(*, session: AsyncSession) -> StatsPublic:
    """Counts computed from the tables: all reviews, and the 4-5 star ones."""
    users, movies, reviews, pos_reviews, pos_users, pos_movies = (
        await session.execute(_stats)
    ).one()
    return StatsPublic(
        users=users,
        movies=movies,
        reviews=reviews,
        positive_reviews=pos_reviews,
        positive_users=pos_users,
        positive_movies=pos_movies,
    )
