"""Refuse requests beyond a bound on those in flight, before doing any work for them.

The outermost layer of the web app. Under a flood every request the process accepts
becomes a task at once, so the event loop's backlog is the number of requests in
flight: at ~0.7 ms of routing, logging and proxying each, 1,000 of them kept the next
request waiting about a second after the flood had ended. Past `limit` a request gets a
fixed 503 with Retry-After for a few microseconds; its only trace is the metric (an
access-log line each would turn a flood into a disk flood). Health checks pass: an
orchestrator must not restart a process for being busy.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Receive, Scope, Send

from services.common.middleware import Metrics

BODY = json.dumps({"detail": "the server is busy, retry shortly"}).encode()
HEADERS = [
    (b"content-type", b"application/json"),
    (b"content-length", str(len(BODY)).encode()),
    (b"retry-after", b"1"),
]
PASS = frozenset({"/healthz", "/readyz"})


class LoadShedding:
    def __init__(self, app: ASGIApp, *, limit: int, metrics: Metrics) -> None:
        self.app = app
        self.limit = limit
        self.metrics = metrics
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in PASS:
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.limit:
            self.metrics.observe(scope["method"], "shed", 503, 0.0)
            await send({"type": "http.response.start", "status": 503, "headers": HEADERS})
            await send({"type": "http.response.body", "body": BODY})
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1
