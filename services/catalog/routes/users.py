"""Users, their review summaries and their reviews."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from services.catalog import crud
from services.catalog.deps import SessionDep, UserId
from services.catalog.models import ReviewsPublic, UserDetail, UsersPublic
from services.common.errors import NotFound

router = APIRouter(prefix="/users", tags=["users"])
NOT_FOUND = {404: {"description": "No user with this id"}}


@router.get("", summary="List users", operation_id="users-list")
async def list_users(
    session: SessionDep,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> UsersPublic:
    """Users by id, a page at a time; `count` is the number of users."""
    return await crud.list_users(session=session, offset=offset, limit=limit)


@router.get(
    "/random",
    summary="A random user",
    operation_id="users-random",
    responses={404: {"description": "The catalog has no users"}},
)
async def random_user(session: SessionDep) -> UserDetail:
    """One user picked uniformly at random, in the shape of GET /users/{id}."""
    user_id = await crud.random_user_id(session=session)
    user = None if user_id is None else await crud.get_user(session=session, user_id=user_id)
    if user is None:
        raise NotFound("the catalog has no users: load MovieLens first")
    return user


@router.get("/{user_id}", summary="Get a user", operation_id="users-get", responses=NOT_FOUND)
async def get_user(session: SessionDep, user_id: UserId) -> UserDetail:
    """A user with a review summary (5 down to 1 stars) and the previous/next user ids."""
    user = await crud.get_user(session=session, user_id=user_id)
    if user is None:
        raise NotFound(f"user {user_id} not found")
    return user


@router.get(
    "/{user_id}/reviews",
    summary="A user's top reviews",
    operation_id="users-reviews",
    responses=NOT_FOUND,
)
async def user_reviews(
    session: SessionDep, user_id: UserId, limit: Annotated[int, Query(ge=1, le=1000)] = 25
) -> ReviewsPublic:
    """Reviews by rating (high first), then most recent, then movie id; `count` is all of them."""
    reviews = await crud.user_reviews(session=session, user_id=user_id, limit=limit)
    if reviews is None:
        raise NotFound(f"user {user_id} not found")
    return reviews
