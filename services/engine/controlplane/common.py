"""Small helpers every control-plane resource module uses."""

from __future__ import annotations

import time

from services.engine.lifecycle import ACTIVE, FINAL
from services.engine.models import ResourceBase
from services.engine.wire.errors import InUse


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
