"""A tiny HTTP/1.1 proxy on loopback that can hold back calls to chosen campaigns.

The recommender has one Personalize endpoint, so to make ONE of two models hang while
the other keeps answering, the fault tests put this proxy between the recommender and
the real engine. Requests whose body names a stalled campaign ARN are held (no
answer, socket open) until the stall is lifted; every other request is forwarded,
one upstream connection per request (`Connection: close`), and answered verbatim.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator


class StallProxy:
    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.stalled: set[str] = set()
        self.held = 0
        self._released = asyncio.Event()
        self._server: asyncio.Server | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @contextlib.asynccontextmanager
    async def stalling(self, *arns: str) -> AsyncIterator[None]:
        """Hold every call naming one of `arns` while the block runs."""
        self.stalled = set(arns)
        self._released.clear()
        try:
            yield
        finally:
            self.stalled = set()
            self._released.set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        self._released.set()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            length = 0
            kept = [lines[0]]
            for line in lines[1:]:
                name, _, value = line.partition(":")
                if name.lower() == "content-length":
                    length = int(value)
                if line and name.lower() != "connection":
                    kept.append(line)
            body = await reader.readexactly(length)
            if any(arn.encode() in body for arn in self.stalled):
                self.held += 1
                await self._released.wait()
                return
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
            request = "\r\n".join([*kept, "Connection: close", "", ""]).encode("latin-1")
            up_writer.write(request + body)
            await up_writer.drain()
            writer.write(await up_reader.read())
            await writer.drain()
            up_writer.close()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()
