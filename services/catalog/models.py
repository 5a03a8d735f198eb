"""Catalog tables (loaded from MovieLens) and the JSON shapes of docs/contracts.md."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

# ---------------------------------------------------------------- users


# Fields a MovieLens user has in u.user.
class UserBase(SQLModel):
    age: int = Field(ge=0, le=200)
    gender: str = Field(max_length=1)
    occupation: str = Field(max_length=32)
    zip_code: str = Field(max_length=10)


# Table row; id is the MovieLens user id, review_count is computed by the loader.
class User(UserBase, table=True):
    __tablename__ = "users"

    id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    review_count: int = 0


# A user in lists.
class UserPublic(UserBase):
    id: int
    review_count: int


# One line of a user's review summary.
class RatingCount(SQLModel):
    rating: int
    count: int
    percent: float


# A user on their own page: the summary and the neighbours for Prev/Next.
class UserDetail(UserPublic):
    review_summary: list[RatingCount]
    previous_id: int | None
    next_id: int | None


# A page of users.
class UsersPublic(SQLModel):
    data: list[UserPublic]
    count: int


# ---------------------------------------------------------------- movies


# Fields every movie shape shares.
class MovieBase(SQLModel):
    title: str = Field(max_length=256)
    year: int | None = None
    release_date: date | None = None
    imdb_url: str | None = Field(default=None, max_length=256)
    poster_url: str | None = Field(default=None, max_length=512)


# Table row; genre_flags has bit i set for genre index i (see genres.py).
class Movie(MovieBase, table=True):
    __tablename__ = "movies"

    id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    genre_flags: int = 0


# A movie as every service sees it.
class MoviePublic(MovieBase):
    id: int
    genres: list[str]


# `GET /movies?ids=`: the movies found, in the order asked, and the ids not found.
class MoviesPublic(SQLModel):
    data: list[MoviePublic]
    count: int
    missing: list[int]


# A popular movie: how many 4- and 5-star reviews it has.
class PopularMoviePublic(MoviePublic):
    positive_reviews: int


class PopularMoviesPublic(SQLModel):
    data: list[PopularMoviePublic]
    count: int


# ---------------------------------------------------------------- reviews


# One row of u.data; (user, movie) is unique in MovieLens.
class Review(SQLModel, table=True):
    __tablename__ = "reviews"
    __table_args__ = (
        # Serves "a user's reviews, best and newest first" straight from the index.
        sa.Index(
            "ix_reviews_user_rating_time",
            "user_id",
            sa.text("rating DESC"),
            sa.text('"timestamp" DESC'),
            "movie_id",
        ),
        sa.Index("ix_reviews_movie_id", "movie_id"),
    )

    user_id: int = Field(foreign_key="users.id", primary_key=True)
    movie_id: int = Field(foreign_key="movies.id", primary_key=True)
    rating: int = Field(ge=1, le=5, sa_type=sa.SmallInteger)
    timestamp: int = Field(sa_type=sa.BigInteger)


class ReviewPublic(SQLModel):
    movie: MoviePublic
    rating: int
    timestamp: int


# A user's reviews (the first `limit`) and how many they have in all.
class ReviewsPublic(SQLModel):
    data: list[ReviewPublic]
    count: int


# ---------------------------------------------------------------- popularity


# Precomputed at load time: 4-5 star review counts per movie, per genre slug and "all".
class MoviePopularity(SQLModel, table=True):
    __tablename__ = "movie_popularity"
    __table_args__ = (
        sa.Index("ix_movie_popularity_rank", "genre", sa.text("positive_reviews DESC"), "movie_id"),
    )

    genre: str = Field(primary_key=True, max_length=16)
    movie_id: int = Field(foreign_key="movies.id", primary_key=True)
    positive_reviews: int


# ---------------------------------------------------------------- genres and stats


class GenrePublic(SQLModel):
    slug: str
    name: str
    index: int


class GenresPublic(SQLModel):
    data: list[GenrePublic]
    count: int


# Counts over all reviews, and over the 4-5 star reviews models train on.
class StatsPublic(SQLModel):
    users: int
    movies: int
    reviews: int
    positive_reviews: int
    positive_users: int
    positive_movies: int
