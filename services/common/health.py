"""`GET /healthz` (the process is alive, and which release it runs) and `GET /readyz` (its
dependencies answer)."""

from __future__ import annotations

import importlib.metadata
from collections.abc import Awaitable, Callable
from functools import cache

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel

# A readiness check returns None when ready, or a short reason when not.
ReadinessCheck = Callable[[Request], Awaitable[str | None]]


class Readiness(BaseModel):
    """`/readyz`'s body, with 200 and with 503: each check's "ok" or its reason."""

    status: str
    checks: dict[str, str]


@cache
def package_version() -> str:
    """The installed videorecs release (pyproject.toml's version), or "unknown" when the
    code runs from a tree that was never installed."""
    try:
        return importlib.metadata.version("videorecs")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


class Liveness(BaseModel):
    """`/healthz`'s body."""

    status: str
    version: str


def health_router(checks: dict[str, ReadinessCheck]) -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/healthz", summary="Liveness", operation_id="health-alive")
    async def healthz() -> Liveness:
        """Answers from the process alone: "ok" and the release it runs."""
        return Liveness(status="ok", version=package_version())

    @router.get(
        "/readyz",
        summary="Readiness",
        operation_id="health-ready",
        responses={200: {"model": Readiness}, 503: {"model": Readiness}},
    )
    async def readyz(request: Request) -> JSONResponse:
        """Checks every dependency the service needs to answer requests."""
        results: dict[str, str] = {}
        ready = True
        for name, check in checks.items():
            try:
                problem = await check(request)
            except Exception as exc:  # a readiness probe reports, it never raises
                problem = f"{type(exc).__name__}: {exc}"
            results[name] = problem or "ok"
            ready = ready and problem is None
        body = {"status": "ok" if ready else "unavailable", "checks": results}
        return JSONResponse(body, status_code=200 if ready else 503)

    @router.get(
        "/metrics",
        summary="Prometheus metrics",
        operation_id="health-metrics",
        response_class=PlainTextResponse,  # declared as text/plain, which it is
        responses={404: {"description": "asked through a reverse proxy"}},
    )
    async def metrics(request: Request) -> Response:
        """Request counts and latencies in the Prometheus text format, for a scraper that
        asks the service directly. Through a reverse proxy (nginx, the load balancer, the
        frontend: each adds X-Forwarded-For) it is a 404 even when an escaped path such as
        `/%6detrics` slipped past the proxy's own rule (the ALB matches paths as sent). A
        client can add the header, never remove it, so it only ever refuses more."""
        if "x-forwarded-for" in request.headers:
            return JSONResponse({"detail": "Not Found"}, status_code=404)
        return Response(
            generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST
        )

    return router
