"""Status lifecycles: CREATE PENDING -> CREATE IN_PROGRESS -> ACTIVE | CREATE FAILED.

Each step lasts STATUS_STEP_SECONDS of real time, so clients polling Describe* can see
PENDING and IN_PROGRESS as on AWS. The work of a step (an import, a training run, a
model load) runs between IN_PROGRESS and the final state. The tasks run in the API
process's event loop; a restart resumes or fails whatever was in flight (see
`recover` in context.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from services.engine.crud import set_status
from services.engine.models import ResourceBase

if TYPE_CHECKING:
    from services.engine.context import EngineContext

logger = logging.getLogger(__name__)

PENDING = "CREATE PENDING"
IN_PROGRESS = "CREATE IN_PROGRESS"
ACTIVE = "ACTIVE"
FAILED = "CREATE FAILED"
STOPPING = "CREATE STOPPING"
STOPPED = "CREATE STOPPED"
DELETE_PENDING = "DELETE PENDING"
DELETE_IN_PROGRESS = "DELETE IN_PROGRESS"
FINAL = (ACTIVE, FAILED, STOPPED)


class StepFailed(Exception):
    """The work of a lifecycle failed for a reason the client should read."""


Work = Callable[[], Awaitable[None]]


async def create(
    ctx: EngineContext, model: type[ResourceBase], arn: str, work: Work | None = None
) -> None:
    """Run a resource's creation lifecycle (the body of a background task)."""
    await asyncio.sleep(ctx.settings.STATUS_STEP_SECONDS)
    if (
        await set_status(sessionmaker=ctx.sessionmaker, model=model, arn=arn, status=IN_PROGRESS)
        is None
    ):
        return
    await asyncio.sleep(ctx.settings.STATUS_STEP_SECONDS)
    try:
        if work is not None:
            await work()
    except StepFailed as exc:
        await set_status(
            sessionmaker=ctx.sessionmaker,
            model=model,
            arn=arn,
            status=FAILED,
            failure_reason=str(exc),
        )
        return
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # a bug in the work must still end in a final state
        logger.exception("creating %s failed", arn)
        # Cut short: a database error's text can carry the rows of an imported file.
        detail = str(exc)
        detail = detail if len(detail) <= 200 else detail[:200] + "..."
        reason = f"Internal error: {type(exc).__name__}: {detail}"
        await set_status(
            sessionmaker=ctx.sessionmaker,
            model=model,
            arn=arn,
            status=FAILED,
            failure_reason=reason,
        )
        return
    await set_status(sessionmaker=ctx.sessionmaker, model=model, arn=arn, status=ACTIVE)


async def delete(
    ctx: EngineContext, model: type[ResourceBase], arn: str, work: Work | None = None
) -> None:
    """DELETE PENDING -> DELETE IN_PROGRESS -> gone (the row is removed by `work`'s caller)."""
    await asyncio.sleep(ctx.settings.STATUS_STEP_SECONDS)
    await set_status(sessionmaker=ctx.sessionmaker, model=model, arn=arn, status=DELETE_IN_PROGRESS)
    await asyncio.sleep(ctx.settings.STATUS_STEP_SECONDS)
    if work is not None:
        await work()
    async with ctx.sessionmaker() as session:
        row = await session.get(model, arn)
        if row is not None:
            await session.delete(row)
            await session.commit()
