"""A small in-process TTL cache whose concurrent misses share one fetch.

Hand-written because the caches here need per-instance TTLs read from settings and
single-flight misses (200 requests/s must not all refetch the registry when an entry
expires); async-lru would add a dependency for about thirty lines.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class TtlCache(Generic[K, V]):
    """Keeps each value `ttl` seconds; failures are not cached; oldest entries go first."""

    def __init__(self, ttl: float, *, maxsize: int = 10_000) -> None:
        self.ttl = ttl
        self.maxsize = maxsize
        self._values: dict[K, tuple[float, V]] = {}
        self._inflight: dict[K, asyncio.Task[V]] = {}

    def peek(self, key: K) -> V | None:
        """The cached value if it is still fresh, else None."""
        entry = self._values.get(key)
        if entry is not None and entry[0] > time.monotonic():
            return entry[1]
        return None

    async def get(self, key: K, fetch: Callable[[], Awaitable[V]]) -> V:
        entry = self._values.get(key)
        if entry is not None and entry[0] > time.monotonic():
            return entry[1]
        task = self._inflight.get(key)
        if task is None:
            task = asyncio.ensure_future(self._fill(key, fetch))
            # Mark a failure as seen even when every waiter has gone away.
            task.add_done_callback(lambda t: t.cancelled() or t.exception())
            self._inflight[key] = task
        # shield: one caller giving up (timeout, disconnect) must not cancel the others' fetch.
        return await asyncio.shield(task)

    async def _fill(self, key: K, fetch: Callable[[], Awaitable[V]]) -> V:
        try:
            value = await fetch()
        finally:
            self._inflight.pop(key, None)
        self.put(key, value)
        return value

    def put(self, key: K, value: V) -> None:
        """Store a value fetched elsewhere (e.g. one of a batch)."""
        if self.ttl <= 0:
            return
        self._values.pop(key, None)
        self._values[key] = (time.monotonic() + self.ttl, value)
        while len(self._values) > self.maxsize:
            del self._values[next(iter(self._values))]

    def clear(self) -> None:
        self._values.clear()
