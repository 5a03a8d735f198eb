"""The registered models with their offline metrics (the home page's table)."""

from __future__ import annotations

from fastapi import APIRouter

from services.recommender import service
from services.recommender.deps import DownstreamsDep
from services.recommender.models import ModelsSummaryPublic

router = APIRouter(prefix="/models", tags=["models"])


@router.get(
    "/summary",
    summary="Models with their offline metrics",
    operation_id="models-summary",
    responses={503: {"description": "Registry unreachable"}},
)
async def get_models_summary(downstreams: DownstreamsDep) -> ModelsSummaryPublic:
    """Each model's recipe and its eight GetSolutionMetrics values, or why they are missing."""
    return await service.models_summary(
        registry=downstreams.registry,
        personalize=downstreams.personalize,
        cache=downstreams.metrics_cache,
        timeout=downstreams.settings.SUMMARY_TIMEOUT_SECONDS,
    )
