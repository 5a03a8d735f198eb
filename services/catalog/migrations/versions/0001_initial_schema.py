"""Initial catalog schema: users, movies, reviews and precomputed popularity.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("age", sa.Integer(), nullable=False),
        sa.Column("gender", sa.String(length=1), nullable=False),
        sa.Column("occupation", sa.String(length=32), nullable=False),
        sa.Column("zip_code", sa.String(length=10), nullable=False),
        sa.Column("review_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "movies",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("title", sa.String(length=256), nullable=False),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("release_date", sa.Date(), nullable=True),
        sa.Column("imdb_url", sa.String(length=256), nullable=True),
        sa.Column("poster_url", sa.String(length=512), nullable=True),
        sa.Column("genre_flags", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "reviews",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("movie_id", sa.Integer(), nullable=False),
        sa.Column("rating", sa.SmallInteger(), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["movie_id"], ["movies.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("user_id", "movie_id"),
    )
    op.create_index(
        "ix_reviews_user_rating_time",
        "reviews",
        ["user_id", sa.text("rating DESC"), sa.text('"timestamp" DESC'), "movie_id"],
    )
    op.create_index("ix_reviews_movie_id", "reviews", ["movie_id"])
    op.create_table(
        "movie_popularity",
        sa.Column("genre", sa.String(length=16), nullable=False),
        sa.Column("movie_id", sa.Integer(), nullable=False),
        sa.Column("positive_reviews", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["movie_id"], ["movies.id"]),
        sa.PrimaryKeyConstraint("genre", "movie_id"),
    )
    op.create_index(
        "ix_movie_popularity_rank",
        "movie_popularity",
        ["genre", sa.text("positive_reviews DESC"), "movie_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_movie_popularity_rank", table_name="movie_popularity")
    op.drop_table("movie_popularity")
    op.drop_index("ix_reviews_movie_id", table_name="reviews")
    op.drop_index("ix_reviews_user_rating_time", table_name="reviews")
    op.drop_table("reviews")
    op.drop_table("movies")
    op.drop_table("users")
