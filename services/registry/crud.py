"""Data functions over the registered-model table (keyword-only, async)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.errors import Conflict
from services.common.time import utc_now
from services.registry.models import TYPE_ORDER, Model, ModelType, name_key


class DuplicateName(Conflict):
    """409: another model already has this name, or one a reader could not tell from it."""

    field = "name"

    def __init__(self, name: str, existing: str | None = None) -> None:
        if existing is None or existing == name:
            message = f"a model named '{name}' already exists; choose another name"
        else:
            message = (
                f"a model named '{existing}' already exists, and '{name}' differs from it only "
                "in letter case or character width; choose another name"
            )
        super().__init__(message)


async def list_models(*, session: AsyncSession, type: ModelType | None = None) -> list[Model]:
    """Models by type (the lab's order), then sort order, then name."""
    type_rank = case({t.value: rank for t, rank in TYPE_ORDER.items()}, value=Model.type, else_=99)
    query = select(Model).order_by(type_rank, Model.sort_order, Model.name, Model.id)
    if type is not None:
        query = query.where(Model.type == type.value)
    return list((await session.scalars(query)).all())


async def get_model(*, session: AsyncSession, model_id: int) -> Model | None:
    return await session.get(Model, model_id)


async def clashing_name(
    *, session: AsyncSession, name: str, except_id: int | None = None
) -> str | None:
    """The name of another model that `name` cannot be told from (`name_key`), or None."""
    query = select(Model.name).where(Model.name_key == name_key(name))
    if except_id is not None:
        query = query.where(Model.id != except_id)
    return await session.scalar(query)


async def check_name_free(
    *, session: AsyncSession, name: str, except_id: int | None = None
) -> None:
    """Raise DuplicateName when another model's name clashes with `name`."""
    existing = await clashing_name(session=session, name=name, except_id=except_id)
    if existing is not None:
        raise DuplicateName(name, existing)


async def _flush(session: AsyncSession, name: str) -> None:
    # The unique index is the real guard; the pre-check only gives the nicer path.
    try:
        await session.flush()
    except IntegrityError:
        await session.rollback()
        raise DuplicateName(name) from None


async def create_model(*, session: AsyncSession, values: dict[str, Any]) -> Model:
    await check_name_free(session=session, name=values["name"])
    model = Model(**values, name_key=name_key(values["name"]))
    session.add(model)
    await _flush(session, model.name)
    await session.refresh(model)
    return model


async def update_model(*, session: AsyncSession, model: Model, values: dict[str, Any]) -> Model:
    if "name" in values:
        await check_name_free(session=session, name=values["name"], except_id=model.id)
        model.name_key = name_key(values["name"])
    for key, value in values.items():
        setattr(model, key, value)
    model.updated_at = utc_now()
    session.add(model)
    await _flush(session, model.name)
    await session.refresh(model)
    return model


async def delete_model(*, session: AsyncSession, model: Model) -> None:
    await session.delete(model)
    await session.flush()
