"""Count the passwords an admin sign-in actually checks, for the concurrent lockout tests."""

from __future__ import annotations

import threading
import time

import pytest

from services.common.admin_auth import AdminCredentials

# Long enough that every request of a burst is waiting on its check at once, as they are
# against production argon2 (tens of milliseconds each); the tests use a cheap hash.
CHECK_SECONDS = 0.05


def count_password_checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Patch `AdminCredentials.verify` to record each password it is given (and take
    `CHECK_SECONDS`); the returned list fills as sign-ins are checked."""
    checked: list[str] = []
    lock = threading.Lock()
    verify = AdminCredentials.verify

    def slow_verify(self: AdminCredentials, username: str, password: str) -> bool:
        with lock:  # called from worker threads (asyncio.to_thread)
            checked.append(password)
        time.sleep(CHECK_SECONDS)
        return verify(self, username, password)

    monkeypatch.setattr(AdminCredentials, "verify", slow_verify)
    return checked
