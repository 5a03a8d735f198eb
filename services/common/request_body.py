"""The request body as the shared middleware hands it to the app: a size limit, a
deadline for it to arrive, and a note of a client that left before it was answered.

The deadline: uvicorn has no timeout on reading a body, so a client that sends its
headers and then too little of the body it announced keeps its request (and whatever it
holds: a proxy's shedding slot, a buffer) waiting for as long as it keeps the socket
open. The whole body must arrive within `REQUEST_BODY_TIMEOUT_SECONDS` of the headers;
past that, the `receive` the app is waiting in raises `BodyTimeout` (a 408, and the
connection is closed). Only waiting for body bytes is timed: a request whose body is in
(or that has none) may wait in `receive` for a disconnect for as long as it likes.

Cost: a timer per request (asyncio.timeout, loop.call_at) costs 2.5-4.5 us of arming and
cancelling, for bodies that nearly always arrive with their headers. Instead the task
waiting for body bytes is noted in a dict while it waits, and one chain of timers sweeps
the dict every quarter of the deadline (at most every second) while anybody waits: about
1 us a request in all, wrapper included. A stalled body is therefore answered between 1
and 1.25 deadlines after its headers (10-11 s by default).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import Message, Receive


class BodyRefused(HTTPException):
    """Raised by `RequestReceive` while the app reads a body. An HTTPException so that
    FastAPI's body parsing lets it through (it turns other errors into a 400) and every
    app's handler for HTTPException answers it: `{"detail": ...}` here, the AWS shape on
    the engine; the shared middleware answers it for a layer that has no handler."""


class BodyTooLarge(BodyRefused):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body too large: at most {limit} bytes allowed")


class BodyTimeout(BodyRefused):
    def __init__(self, seconds: float) -> None:
        super().__init__(
            408,
            f"request body not received in time: the whole body must arrive within "
            f"{seconds:g} seconds of the request headers",
            # The rest of the body may still come: it must not be read as the next request.
            headers={"Connection": "close"},
        )


class BodyDeadlines:
    """The tasks waiting in `receive` for body bytes, each with the time its request
    started, and the chain of sweeps that cancels those past the deadline."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.sweep_every = min(1.0, seconds / 4)
        self.waiting: dict[asyncio.Task[Any], float] = {}
        self.expired: set[asyncio.Task[Any]] = set()  # cancelled here, not yet told so
        # The loop the sweeps run on; None when they have stopped (nobody was waiting).
        # A waiter on another loop (tests make one each) starts a chain there.
        self.loop: asyncio.AbstractEventLoop | None = None
        self._chain = 0  # the current chain of sweeps; a superseded one stops

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._chain += 1
        loop.call_later(self.sweep_every, self._sweep, self._chain)

    def _sweep(self, chain: int) -> None:
        if chain != self._chain:
            return
        expired = time.perf_counter() - self.seconds
        for task, started in list(self.waiting.items()):
            if task.done() or task.get_loop().is_closed():
                del self.waiting[task]  # left behind by a loop that is gone
            elif started <= expired:
                del self.waiting[task]
                self.expired.add(task)
                task.cancel()  # arrives in RequestReceive.__call__, which raises BodyTimeout
        if self.expired:
            self.expired = {task for task in self.expired if not task.done()}
        if self.waiting and self.loop is not None:
            self.loop.call_later(self.sweep_every, self._sweep, chain)
        else:
            self.loop = None


class RequestReceive:
    """The app's `receive` for one request: body bytes counted against `limit` (when not
    None), waited for under `deadlines` until the body is in (when not None), and
    `client_gone` set once the client is seen to have left."""

    __slots__ = (
        "_receive", "_deadlines", "_started", "_limit", "_received", "_read", "client_gone"
    )

    def __init__(
        self,
        receive: Receive,
        deadlines: BodyDeadlines | None,
        started: float,  # time.perf_counter() when the headers were in
        limit: int | None,
    ) -> None:
        self._receive = receive
        self._deadlines = deadlines  # None once the body is in: what follows is not timed
        self._started = started
        self._limit = limit
        self._received = 0
        self._read: bytes | None = None  # a body `read_body` took, for the app's first call
        self.client_gone = False

    async def read_body(self) -> bytes | None:
        """The whole body, read before the app runs (for a gate that must see it), or None
        if the client left first. The app's first call then gets it as one message."""
        message = await self()
        if message["type"] != "http.request":
            return None
        body = message.get("body", b"")
        if message.get("more_body", False):  # a body in several messages: gathered
            chunks = [body]
            while True:
                message = await self()
                if message["type"] != "http.request":
                    return None
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    break
            body = b"".join(chunks)
        self._read = body
        return body

    async def drain(self) -> bool:
        """Read the body to its end, keeping none of it (still counted against the limit);
        False if the client left first."""
        while True:
            message = await self()
            if message["type"] != "http.request":
                return False
            if not message.get("more_body", False):
                return True

    async def __call__(self) -> Message:
        if self._read is not None:
            body, self._read = self._read, None
            return {"type": "http.request", "body": body, "more_body": False}
        deadlines = self._deadlines
        if deadlines is None:
            message = await self._receive()
        else:
            task = asyncio.current_task()
            assert task is not None
            deadlines.waiting[task] = self._started
            loop = task.get_loop()
            if deadlines.loop is not loop:
                deadlines.start(loop)
            try:
                message = await self._receive()
            except asyncio.CancelledError:
                if task in deadlines.expired:
                    deadlines.expired.discard(task)
                    if task.uncancel() == 0:  # nobody else cancelled it too
                        raise BodyTimeout(deadlines.seconds) from None
                raise
            finally:
                deadlines.waiting.pop(task, None)
        kind = message["type"]
        if kind == "http.request":
            if self._limit is not None:
                self._received += len(message.get("body", b""))
                if self._received > self._limit:
                    raise BodyTooLarge(self._limit)
            if not message.get("more_body", False):
                self._deadlines = None
        elif kind == "http.disconnect":
            self.client_gone = True
            self._deadlines = None
        return message
