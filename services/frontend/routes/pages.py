"""`/`: the single page; everything after it is routed in the browser (`#/users/42`)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from services.frontend.config import API_PREFIX, SERVICES
from services.frontend.deps import TemplatesDep

router = APIRouter(tags=["pages"])


@router.get("/", response_class=HTMLResponse, summary="The web app", operation_id="pages-index")
async def index(request: Request, templates: TemplatesDep) -> HTMLResponse:
    """The app shell, carrying the API base paths the scripts call."""
    return templates.TemplateResponse(
        request,
        "index.html",
        {
            "api": {name: f"{API_PREFIX}/{name}" for name in SERVICES},
            "admin_url": f"{API_PREFIX}/registry/admin/",
        },
        headers={"Cache-Control": "no-cache"},
    )
