"""`x-amzn-RequestId` on every response (botocore's ResponseMetadata.RequestId).

The shared middleware already creates a request id (x-request-id); this pure ASGI
wrapper copies it under the AWS header name.
"""

from __future__ import annotations

import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class AmznRequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers: list[Any] = list(message.get("headers", []))
                request_id = next((v for k, v in headers if k == b"x-request-id"), None)
                headers.append((b"x-amzn-requestid", request_id or uuid.uuid4().hex.encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_wrapper)
