"""Server-side admin sessions: what makes a signed-in cookie worth anything.

The signed cookie alone cannot be taken back: a copy keeps working until it expires.
So a signed-in cookie also carries a random session id, and a request is signed in only
while a `SessionStore` holds that id; signing out deletes it, which ends every copy of
the cookie at once. Stores see only the SHA-256 of the id (`store_key`), so whoever can
read the store cannot turn its rows into cookies.

`MemorySessionStore` is for a single process: a restart signs everyone out (the safe
direction). A service with replicas or that should keep sessions across restarts
passes a store backed by its database (the registry's `services.registry.admin_sessions`).
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from typing import Protocol

__all__ = ["MAX_SESSIONS", "MemorySessionStore", "SessionStore", "new_session_id", "store_key"]

# Sessions exist only after a correct password, so this bound is never reached honestly;
# past it the oldest sessions are signed out rather than memory growing.
MAX_SESSIONS = 1024


def new_session_id() -> str:
    return secrets.token_urlsafe(32)


def store_key(session_id: str) -> str:
    """What a store keeps for a session id: its SHA-256, hex (64 characters)."""
    return hashlib.sha256(session_id.encode()).hexdigest()


class SessionStore(Protocol):
    """Where live admin sessions are kept, by `store_key`."""

    async def add(self, key: str, *, user: str, max_age: float) -> None:
        """Record a new session of `user`, live for `max_age` seconds."""

    async def user_of(self, key: str) -> str | None:
        """The user of a live session; None when unknown, signed out or expired."""

    async def revoke(self, key: str) -> None:
        """End the session (nothing happens if it is unknown)."""


class MemorySessionStore:
    """Sessions in this process's memory, bounded by `max_sessions`."""

    def __init__(
        self, *, max_sessions: int = MAX_SESSIONS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_sessions = max_sessions
        self._clock = clock
        # Insertion order is expiry order (one max age per service): the first to go is first.
        self._sessions: dict[str, tuple[str, float]] = {}

    async def add(self, key: str, *, user: str, max_age: float) -> None:
        now = self._clock()
        while self._sessions and len(self._sessions) >= self.max_sessions:
            del self._sessions[next(iter(self._sessions))]
        self._sessions[key] = (user, now + max_age)

    async def user_of(self, key: str) -> str | None:
        found = self._sessions.get(key)
        if found is None:
            return None
        user, expires = found
        if expires <= self._clock():
            del self._sessions[key]
            return None
        return user

    async def revoke(self, key: str) -> None:
        self._sessions.pop(key, None)

    def __len__(self) -> int:
        return len(self._sessions)
