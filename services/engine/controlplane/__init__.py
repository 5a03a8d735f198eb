"""The control-plane operations, by name (the part after `AmazonPersonalize.`).

Each is wrapped so the request is checked against botocore's model and the coverage table
(`wire/coverage.py`) before the handler runs, whoever calls it: `POST /` and the console,
which calls these in process.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from services.engine.controlplane import (
    batch_inference_jobs,
    batch_segment_jobs,
    campaigns,
    dataset_groups,
    datasets,
    event_trackers,
    filters,
    import_jobs,
    recipes,
    schemas,
    solution_versions,
    solutions,
)
from services.engine.wire import coverage
from services.engine.wire.routing import Handler

if TYPE_CHECKING:
    from services.engine.context import EngineContext


def _checked(name: str, handler: Handler) -> Handler:
    @functools.wraps(handler)
    async def operation(ctx: EngineContext, body: dict[str, Any]) -> dict[str, Any]:
        coverage.check(service="personalize", operation=name, body=body)
        return await handler(ctx, body)

    return operation


HANDLERS: dict[str, Handler] = {
    **dataset_groups.OPERATIONS,
    **schemas.OPERATIONS,
    **datasets.OPERATIONS,
    **import_jobs.OPERATIONS,
    **solutions.OPERATIONS,
    **solution_versions.OPERATIONS,
    **campaigns.OPERATIONS,
    **filters.OPERATIONS,
    **event_trackers.OPERATIONS,
    **recipes.OPERATIONS,
    **batch_inference_jobs.OPERATIONS,
    **batch_segment_jobs.OPERATIONS,
}
OPERATIONS: dict[str, Handler] = {name: _checked(name, h) for name, h in HANDLERS.items()}
