"""The frontend started the way `videorecs up` starts it, proxying what a test chooses."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from services.cli.supervisor import spawn, stop_all, wait_ready
from tests.utils.servers import RunningServer, free_port


@contextmanager
def embedded_frontend(log_dir: Path, **env: str) -> Iterator[RunningServer]:
    """uvicorn with `videorecs up`'s options (services/cli/supervisor.py) and, as
    services/cli/topology.py sets it, believing nobody's X-Forwarded-For; `env` adds the
    downstream URLs and settings."""
    port = free_port()
    child = spawn(
        "frontend",
        "services.frontend.main:app",
        host="127.0.0.1",
        port=port,
        env={"ENVIRONMENT": "test", "FORWARDED_ALLOW_IPS": "", **env},
        log_dir=log_dir,
    )
    try:
        asyncio.run(wait_ready(child, timeout=60))
        yield RunningServer(child.url, port, child.process, child.log_path)
    finally:
        stop_all([child])
