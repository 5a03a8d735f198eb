"""awsJson1.1 routing: `POST /` with `X-Amz-Target: AmazonPersonalize.<Operation>`."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from services.engine.wire import coverage, validate
from services.engine.wire.errors import (
    JSON_11,
    InvalidInput,
    PersonalizeError,
    UnknownOperation,
    render,
)

if TYPE_CHECKING:
    from services.engine.context import EngineContext

logger = logging.getLogger(__name__)

TARGET_PREFIX = "AmazonPersonalize."
Handler = Callable[["EngineContext", dict[str, Any]], Awaitable[dict[str, Any]]]


def control_plane_route(operations: dict[str, Handler]) -> Route:
    coverage.load()  # botocore's models, read at start rather than on the first request

    async def control_plane(request: Request) -> Response:
        """POST / (every control-plane operation)."""
        try:
            target = request.headers.get("x-amz-target", "")
            if not target.startswith(TARGET_PREFIX):
                raise UnknownOperation("Missing or unknown X-Amz-Target header.")
            name = target[len(TARGET_PREFIX) :]
            operation = operations.get(name)
            if operation is None:
                raise UnknownOperation(f"Operation {name} is not supported.")
            try:
                body = orjson.loads(await request.body() or b"{}")
            except orjson.JSONDecodeError:
                raise InvalidInput("The request body is not valid JSON.") from None
            if not isinstance(body, dict):
                raise InvalidInput("The request body must be a JSON object.")
            validate.check_depth(body)
            # The operation checks the body against botocore's model and the coverage table
            # before it runs (controlplane/__init__.py).
            result = await operation(request.app.state.engine, body)
        except PersonalizeError as exc:
            return render(exc, JSON_11)  # control plane: 400 for every error
        return Response(orjson.dumps(result), media_type=JSON_11)

    return Route("/", control_plane, methods=["POST"], name="ControlPlane")
