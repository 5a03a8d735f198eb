"""The engine's authentication: every API request is SigV4-signed by a known key pair.

A request gate (see `services.common.middleware.RequestGate`) in front of the control
plane, runtime and events APIs (the same app serves all three). It checks the headers
(`services.engine.wire.sigv4`); only when they hold is the body read, once, for the
signature check over it, and the app then gets the body that was read. The console
(`/console`, its own admin sign-in) and the health and metrics endpoints (probes and
Prometheus, which reach services directly, never through the public proxy) are outside it.

Refusals come in the shape of the API that was called: 400 with
`application/x-amz-json-1.1` on the awsJson control plane (`POST /`), 403 with JSON on
the restJson runtime and events APIs, as AWS answers each.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.responses import Response
from starlette.types import Scope

from services.engine.wire.errors import JSON_11, AuthError, error_response
from services.engine.wire.sigv4 import HeaderCheck, SigV4Verifier

# Served without a signature: probes, Prometheus and the console (its own sign-in).
OPEN_PATHS = frozenset({"/healthz", "/readyz", "/metrics", "/console"})
OPEN_PREFIX = "/console/"


class SigV4Gate:
    """Refuses every API request that is not signed by one of `keys` (a `RequestGate`)."""

    def __init__(self, *, keys: Mapping[str, str], region: str) -> None:
        self.verifier = SigV4Verifier(keys=dict(keys), region=region)

    def check_headers(self, scope: Scope) -> HeaderCheck | Response | None:
        """None for the open paths; a refusal for a request that is not signed by a known
        key or whose signature cannot hold, before any of its body is read (so nobody can
        make the engine hold bodies, up to 4 MiB each, without a key); else what
        `check_body` needs."""
        path = scope["path"]
        if path in OPEN_PATHS or path.startswith(OPEN_PREFIX):
            return None
        try:
            return self.verifier.check_headers(
                scope["method"],
                scope.get("raw_path") or path.encode(),
                scope.get("query_string", b""),
                scope["headers"],
            )
        except AuthError as exc:
            return _refusal(exc, path)

    def check_body(self, scope: Scope, checked: HeaderCheck, body: bytes) -> Response | None:
        """The refusal of a request whose signature does not cover `body`, else None."""
        try:
            self.verifier.check_signature(checked, body)
        except AuthError as exc:
            return _refusal(exc, scope["path"])
        return None


def _refusal(exc: AuthError, path: str) -> Response:
    """The refusal in the shape of the API that was called."""
    control_plane = path == "/"
    return error_response(
        exc.code,
        exc.message,
        400 if control_plane else 403,
        JSON_11 if control_plane else "application/json",
    )
