"""TtlCache: freshness, single-flight misses, failures not cached, size bound."""

from __future__ import annotations

import asyncio

import pytest

from services.recommender.cache import TtlCache


async def test_concurrent_misses_share_one_fetch() -> None:
    cache: TtlCache[str, int] = TtlCache(60)
    calls = 0

    async def fetch() -> int:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.05)
        return 7

    values = await asyncio.gather(*(cache.get("k", fetch) for _ in range(20)))
    assert values == [7] * 20
    assert calls == 1
    assert await cache.get("k", fetch) == 7
    assert calls == 1


async def test_expired_value_is_fetched_again() -> None:
    cache: TtlCache[str, int] = TtlCache(0.05)
    results = iter([1, 2])

    async def fetch() -> int:
        return next(results)

    assert await cache.get("k", fetch) == 1
    assert cache.peek("k") == 1
    await asyncio.sleep(0.08)
    assert cache.peek("k") is None
    assert await cache.get("k", fetch) == 2


async def test_failure_is_not_cached() -> None:
    cache: TtlCache[str, int] = TtlCache(60)
    attempts = 0

    async def flaky() -> int:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise RuntimeError("down")
        return 3

    with pytest.raises(RuntimeError, match="down"):
        await cache.get("k", flaky)
    assert await cache.get("k", flaky) == 3
    assert attempts == 2


async def test_cancelled_waiter_does_not_cancel_the_fetch() -> None:
    cache: TtlCache[str, int] = TtlCache(60)
    release = asyncio.Event()

    async def slow() -> int:
        await release.wait()
        return 5

    impatient = asyncio.create_task(cache.get("k", slow))
    patient = asyncio.create_task(cache.get("k", slow))
    await asyncio.sleep(0.01)
    impatient.cancel()
    release.set()
    assert await patient == 5
    with pytest.raises(asyncio.CancelledError):
        await impatient


async def test_oldest_entries_leave_first() -> None:
    cache: TtlCache[int, int] = TtlCache(60, maxsize=2)
    for key in (1, 2, 3):
        await cache.get(key, lambda key=key: asyncio.sleep(0, result=key * 10))
    assert cache.peek(1) is None
    assert (cache.peek(2), cache.peek(3)) == (20, 30)


async def test_zero_ttl_never_stores() -> None:
    cache: TtlCache[str, int] = TtlCache(0)
    calls = 0

    async def fetch() -> int:
        nonlocal calls
        calls += 1
        return calls

    assert await cache.get("k", fetch) == 1
    assert await cache.get("k", fetch) == 2


async def test_put_stores_a_value_fetched_elsewhere() -> None:
    cache: TtlCache[int, str] = TtlCache(60)
    cache.put(1, "one")
    assert cache.peek(1) == "one"

    async def never() -> str:
        raise AssertionError("a fresh value must not be fetched again")

    assert await cache.get(1, never) == "one"
    off: TtlCache[int, str] = TtlCache(0)
    off.put(1, "x")
    assert off.peek(1) is None
