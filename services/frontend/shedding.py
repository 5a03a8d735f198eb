"""Refuse requests beyond a bound on those in flight, before doing any work for them.

The outermost layer of the web app. Under a flood every request the process accepts
becomes a task at once, so the event loop's backlog is the number of requests in
flight: at ~0.7 ms of routing, logging and proxying each, 1,000 of them kept the next
request waiting about a second after the flood had ended. Past `limit` a request gets a
fixed 503 with Retry-After for a few microseconds; its only trace is the metric (an
access-log line each would turn a flood into a disk flood). Health checks pass: an
orchestrator must not restart a process for being busy.

A request counts while the process works on it, not while it waits for its client to
send the body it announced: 260 clients that each sent headers and one byte of a body
held every slot for as long as they kept their sockets open, and everybody else got
503. Waiting costs the process a connection and no work, and the shared middleware ends
it with a 408 (REQUEST_BODY_TIMEOUT_SECONDS). The other remedy, a cap on requests per
client address, does nothing against many addresses and refuses the users who share one
(a NAT, an office proxy, nginx when its forwarding headers are not trusted).
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

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
            if _has_body(scope):
                receive = self._uncounted_while_reading(receive)
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1

    def _uncounted_while_reading(self, receive: Receive) -> Receive:
        """`receive` during which the request does not count, until the body is in (after
        it, `receive` is how the proxy watches for a disconnect while it works)."""
        reading = True

        async def receive_body() -> Message:
            nonlocal reading
            if not reading:
                return await receive()
            self.in_flight -= 1
            try:
                message = await receive()
            finally:  # also when the body deadline cancels the wait
                self.in_flight += 1
            if message["type"] != "http.request" or not message.get("more_body", False):
                reading = False
            return message

        return receive_body


def _has_body(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if (name == b"content-length" and value != b"0") or name == b"transfer-encoding":
            return True
    return False
