"""Dependency aliases: the process-wide clients the lifespan put on app.state.

One dependency carries all of them: each FastAPI dependency costs its own resolution
step per request (about 0.1 ms), and the hot route needs every client anyway. The
getter is `async def` because FastAPI runs a plain `def` dependency in a worker thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from services.recommender.cache import TtlCache
from services.recommender.clients.catalog import CatalogClient
from services.recommender.clients.personalize import PersonalizeClient
from services.recommender.clients.registry import RegistryClient
from services.recommender.config import Settings


@dataclass(frozen=True, slots=True)
class Downstreams:
    """The clients one process shares between all requests (made in the lifespan)."""

    settings: Settings
    catalog: CatalogClient
    registry: RegistryClient
    personalize: PersonalizeClient
    metrics_cache: TtlCache[str, dict[str, float]]


async def get_downstreams(request: Request) -> Downstreams:
    return request.app.state.downstreams  # type: ignore[no-any-return]


DownstreamsDep = Annotated[Downstreams, Depends(get_downstreams)]
