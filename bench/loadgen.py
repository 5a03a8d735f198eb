"""What the asyncio load generators of the benchmarks share."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the load generator's own garbage collector while it measures.

    The generator keeps thousands of response objects alive at 200 req/s, and a full
    collection of them took 70-120 ms on the 2-core machine: every request in flight then
    looked that much slower, though no server was involved (seen with gc.callbacks). The
    servers keep their collectors; only the measuring process pauses its own.
    """
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.unfreeze()
