"""The whole app as real processes on loopback, trained once, for integration tests.

The stack itself is services/cli/stack.py (the benchmarks start it too); this adds what
only the tests have: the tests' engine key pair (tests/utils/credentials.py), so helper
processes started beside the stack (a second recommender, a registry of their own) can
sign too, and fresh PostgreSQL databases (TEST_POSTGRES_URL). The `lab_stack` session
fixture in tests/conftest.py wraps `start_stack` so the suite trains once.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from services.cli import stack as _stack
from services.cli.secrets import generate
from services.cli.stack import DatabaseUrlFactory, Stack, sqlite_databases
from tests.utils.credentials import ENGINE_ACCESS_KEY_ID, ENGINE_SECRET_ACCESS_KEY
from tests.utils.databases import new_database_url

__all__ = ["Stack", "postgres_databases", "start_stack"]


def postgres_databases(services: tuple[str, ...], tmp_dir: Path) -> DatabaseUrlFactory:
    """A fresh PostgreSQL database (TEST_POSTGRES_URL) for `services`, SQLite for the rest."""

    async def factory(service: str) -> str:
        if service in services:
            return await new_database_url("postgres", tmp_dir)
        return await sqlite_databases(tmp_dir)(service)

    return factory


@contextmanager
def start_stack(tmp_dir: Path, **options: Any) -> Iterator[Stack]:
    """services.cli.stack.start_stack with the tests' engine key pair."""
    secrets = replace(
        generate(),
        engine_access_key_id=ENGINE_ACCESS_KEY_ID,
        engine_secret_access_key=ENGINE_SECRET_ACCESS_KEY,
    )
    with _stack.start_stack(tmp_dir, secrets=secrets, **options) as stack:
        yield stack
