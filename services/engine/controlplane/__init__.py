"""The control-plane operations, by name (the part after `AmazonPersonalize.`)."""

from __future__ import annotations

from services.engine.controlplane import (
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
from services.engine.wire.routing import Handler

OPERATIONS: dict[str, Handler] = {
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
}
