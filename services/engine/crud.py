"""Keyword-only data helpers the control plane shares: fetch-or-404, pagination, status."""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import SQLModel

from services.engine.models import ResourceBase
from services.engine.wire.errors import InvalidNextToken, NotFound

R = TypeVar("R", bound=ResourceBase)
T = TypeVar("T", bound=SQLModel)


async def get_resource(*, session: AsyncSession, model: type[R], arn: str) -> R:
    """The row with this ARN, or ResourceNotFoundException in the AWS wording."""
    row = await session.get(model, arn)
    if row is None:
        raise NotFound.arn(arn)
    return row


async def exists(*, session: AsyncSession, model: type[R], arn: str) -> bool:
    return await session.get(model, arn) is not None


async def count(*, session: AsyncSession, model: type[T], **where: Any) -> int:
    stmt = select(func.count()).select_from(model)
    for column, value in where.items():
        stmt = stmt.where(getattr(model, column) == value)
    return int((await session.execute(stmt)).scalar_one())


def _encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def _decode_token(token: str) -> int:
    try:
        text = base64.urlsafe_b64decode(token.encode()).decode()
        label, _, value = text.partition(":")
        offset = int(value)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidNextToken("The nextToken is not valid.") from None
    if label != "offset" or offset < 0:
        raise InvalidNextToken("The nextToken is not valid.")
    return offset


async def list_page(
    *,
    session: AsyncSession,
    model: type[R],
    max_results: int,
    next_token: str | None,
    conditions: Sequence[Any] = (),
    **where: Any,
) -> tuple[Sequence[R], str | None]:
    """One page of rows, oldest first, plus the token of the next page (None at the end)."""
    offset = _decode_token(next_token) if next_token else 0
    stmt = select(model).where(*conditions)
    for column, value in where.items():
        stmt = stmt.where(getattr(model, column) == value)
    stmt = stmt.order_by(model.created, model.arn).offset(offset).limit(max_results + 1)
    rows = list((await session.execute(stmt)).scalars())
    more = len(rows) > max_results
    return rows[:max_results], (_encode_token(offset + max_results) if more else None)


async def set_status(
    *,
    sessionmaker: async_sessionmaker[AsyncSession],
    model: type[R],
    arn: str,
    status: str,
    failure_reason: str | None = None,
    **fields: Any,
) -> R | None:
    """Move a resource to `status` in its own transaction; None if it is gone."""
    async with sessionmaker() as session:
        row = await session.get(model, arn)
        if row is None:
            return None
        row.status = status
        row.failure_reason = failure_reason
        row.updated = time.time()
        for key, value in fields.items():
            setattr(row, key, value)
        await session.commit()
        return row
