"""The engine's app plus one test-only route that raises: an unexpected error on demand.

The engine answers every bad input with a 4xx, so nothing in it fails unexpectedly on
purpose; test_bad_input.py runs this under uvicorn to see what a real 500 does to the
client's keep-alive connection. The route sits behind the same middleware as the others.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from services.engine.main import app

BOOM_PATH = "/test-only/boom"


async def _boom(request: Request) -> Response:
    raise RuntimeError("provoked by tests/engine/raising_app.py")


app.router.routes.insert(0, Route(BOOM_PATH, _boom, methods=["POST"]))
