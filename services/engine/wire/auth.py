"""The engine's authentication: every API request is SigV4-signed by a known key pair.

A request gate (see `services.common.middleware.RequestGate`) in front of the control
plane, runtime and events APIs (the same app serves all three). It checks the headers
(`services.engine.wire.sigv4`) and only when they hold reads the body, once, checks the
signature over it and hands the app the body it read. The console (`/console`, its own
admin sign-in) and the health and metrics endpoints (probes and Prometheus, which reach
services directly, never through the public proxy) are outside it.

Refusals come in the shape of the API that was called: 400 with
`application/x-amz-json-1.1` on the awsJson control plane (`POST /`), 403 with JSON on
the restJson runtime and events APIs, as AWS answers each.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.responses import Response
from starlette.types import Message, Receive, Scope

from services.engine.wire.errors import JSON_11, AuthError, error_response
from services.engine.wire.sigv4 import SigV4Verifier

# Served without a signature: probes, Prometheus and the console (its own sign-in).
OPEN_PATHS = frozenset({"/healthz", "/readyz", "/metrics", "/console"})
OPEN_PREFIX = "/console/"


class SigV4Gate:
    """Refuses every API request that is not signed by one of `keys`."""

    def __init__(self, *, keys: Mapping[str, str], region: str) -> None:
        self.verifier = SigV4Verifier(keys=dict(keys), region=region)

    async def __call__(self, scope: Scope, receive: Receive) -> Receive | Response | None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path in OPEN_PATHS or path.startswith(OPEN_PREFIX):
            return receive
        try:
            # The headers first: a request that is not signed by a known key, or whose
            # signature cannot hold, is refused before any of its body is read, so that
            # nobody can make the engine hold bodies (up to 4 MiB each) without a key.
            checked = self.verifier.check_headers(
                scope["method"],
                scope.get("raw_path") or path.encode(),
                scope.get("query_string", b""),
                scope["headers"],
            )
        except AuthError as exc:
            if any(name == b"transfer-encoding" for name, _ in scope["headers"]):
                # A body of unstated length: dropped as it comes (never held) so that one
                # over the size limit is a 413 here too, as when its length is stated.
                if not await _drained(receive):
                    return None  # the client left
            return _refusal(exc, path)
        # Read under the shared middleware's size limit and deadline (408 when it passes).
        message = await receive()
        if message["type"] != "http.request":
            return None  # the client left: nobody to answer
        body = message.get("body", b"")
        if message.get("more_body", False):  # a body in several messages: gathered
            chunks = [body]
            while True:
                message = await receive()
                if message["type"] != "http.request":
                    return None
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    break
            body = b"".join(chunks)
        try:
            self.verifier.check_signature(checked, body)
        except AuthError as exc:
            return _refusal(exc, path)

        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return replay


async def _drained(receive: Receive) -> bool:
    """Read the body to its end, keeping none of it; False if the client left first."""
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return False
        if not message.get("more_body", False):
            return True


def _refusal(exc: AuthError, path: str) -> Response:
    """The refusal in the shape of the API that was called."""
    control_plane = path == "/"
    return error_response(
        exc.code,
        exc.message,
        400 if control_plane else 403,
        JSON_11 if control_plane else "application/json",
    )
