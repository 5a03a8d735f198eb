"""Small helpers every control-plane resource module uses."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from services.engine.crud import list_page
from services.engine.lifecycle import ACTIVE, FINAL
from services.engine.models import ResourceBase
from services.engine.wire import validate
from services.engine.wire.errors import InUse

if TYPE_CHECKING:
    from services.engine.context import EngineContext


def now() -> float:
    return time.time()


def stamps(row: ResourceBase) -> dict[str, float]:
    return {"creationDateTime": row.created, "lastUpdatedDateTime": row.updated}


def require_active(row: ResourceBase, kind: str) -> None:
    """ResourceInUseException when a resource is used before it is ACTIVE."""
    if row.status != ACTIVE:
        raise InUse(f"The {kind} {row.arn} is not ACTIVE (status: {row.status}).")


def require_final(row: ResourceBase, kind: str) -> None:
    if row.status not in FINAL:
        raise InUse(f"The {kind} {row.arn} cannot be deleted while its status is {row.status}.")


def drop_none(data: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in data.items() if v is not None}


async def list_response(
    ctx: EngineContext,
    body: dict[str, Any],
    *,
    model: type[ResourceBase],
    key: str,
    summarize: Callable[[Any], dict[str, Any]],
    parent: tuple[str, str] | None = None,
    conditions: Sequence[Any] = (),
) -> dict[str, Any]:
    """A List* answer: one page of `model` rows under `key`, plus `nextToken`.

    `parent` is (request field, column), e.g. ("datasetGroupArn", "dataset_group_arn"):
    when the request names that ARN, only its children are listed.
    """
    where = {}
    if parent is not None:
        field, column = parent
        parent_arn = body.get(field)
        if parent_arn:
            where[column] = parent_arn
    async with ctx.sessionmaker() as session:
        rows, token = await list_page(
            session=session,
            model=model,
            max_results=body.get("maxResults") or validate.DEFAULT_MAX_RESULTS,
            next_token=body.get("nextToken"),
            conditions=conditions,
            **where,
        )
    return drop_none({key: [summarize(r) for r in rows], "nextToken": token})
