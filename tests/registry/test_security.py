"""Password and token checks the registry relies on (services.common.admin_auth, deps).

Argon2 only, and an unknown user costs as much as a wrong password.
"""

from __future__ import annotations

import statistics
import time

from argon2 import PasswordHasher

from services.common.admin_auth import AdminCredentials, hash_password
from services.registry.deps import token_matches

# Cheaper than production (16 MiB, 2 passes) but still clearly measurable.
MEASURABLE = PasswordHasher(time_cost=2, memory_cost=16384, parallelism=1)
CHEAP = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def _median_seconds(check: AdminCredentials, username: str, password: str) -> float:
    runs = []
    for _ in range(3):
        started = time.perf_counter()
        assert check.verify(username, password) is False
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


def test_unknown_user_costs_one_argon2_verification() -> None:
    credentials = AdminCredentials.from_hash("curator", MEASURABLE.hash("the-real-password"))
    assert credentials.verify("curator", "the-real-password") is True
    wrong_password = _median_seconds(credentials, "curator", "guess")
    unknown_user = _median_seconds(credentials, "nobody", "guess")
    assert wrong_password > 0.005
    # Within a factor of two of each other; without the dummy hash it would be ~1000x.
    assert 0.5 < unknown_user / wrong_password < 2.0


def test_hash_is_salted_argon2id() -> None:
    first, second = hash_password("same"), hash_password("same")
    assert first.startswith("$argon2id$") and second.startswith("$argon2id$")
    assert first != second


def test_password_and_username_must_both_match() -> None:
    credentials = AdminCredentials.from_hash("curator", CHEAP.hash("pw-1234567890"))
    assert credentials.verify("curator", "pw-1234567890")
    assert not credentials.verify("Curator", "pw-1234567890")
    assert not credentials.verify("curator", "pw-123456789")
    assert not credentials.verify("", "")


def test_token_matches() -> None:
    assert token_matches("abc", "abc")
    assert not token_matches("abd", "abc")
    assert not token_matches("", "")
    assert not token_matches("abc", None)
