"""A tiny downstream for the proxy's overload and security tests: `/slow` holds each
request until its client goes away (or 30 s pass), `/stream` sends a chunk every 50 ms
for as long, `/fast` answers at once, `/inflight` counts the held and streaming requests,
and any path under `/echo` answers with the path and headers it got.

Plain ASGI so that a held request notices its client leaving (uvicorn reports
`http.disconnect` to `receive()`; it never cancels the app), which is how the tests see
that the proxy really abandons the upstream requests of clients that left.
"""

from __future__ import annotations

import asyncio
import json

from starlette.types import Receive, Scope, Send

HOLD_SECONDS = 30.0
in_flight = 0


async def _answer(send: Send, status: int, body: object) -> None:
    payload = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(payload))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


async def _until_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def _gone(receive: Receive) -> bool:
    try:
        return (await asyncio.wait_for(receive(), 0.001))["type"] == "http.disconnect"
    except TimeoutError:
        return False


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    global in_flight
    if scope["type"] != "http":
        return
    path = scope["path"]
    if path == "/slow":
        in_flight += 1
        try:
            await asyncio.wait_for(_until_disconnect(receive), HOLD_SECONDS)
            return  # the client left: nobody to answer
        except TimeoutError:
            pass
        finally:
            in_flight -= 1
        await _answer(send, 200, {"slow": True})
    elif path == "/stream":
        in_flight += 1
        try:
            await send({"type": "http.response.start", "status": 200, "headers": []})
            for _ in range(int(HOLD_SECONDS / 0.05)):
                # uvicorn ignores sends once the client is gone; ask it instead.
                if await _gone(receive):
                    return
                await send({"type": "http.response.body", "body": b"x" * 10, "more_body": True})
                await asyncio.sleep(0.05)
            await send({"type": "http.response.body", "body": b""})
        finally:
            in_flight -= 1
    elif path == "/inflight":
        await _answer(send, 200, {"in_flight": in_flight})
    elif path.startswith("/echo"):
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        raw_path = scope["raw_path"].decode("latin-1")
        await _answer(send, 200, {"path": path, "raw_path": raw_path, "headers": headers})
    elif path in ("/fast", "/healthz"):
        await _answer(send, 200, {"path": path})
    else:
        await _answer(send, 404, {"detail": "not found"})
