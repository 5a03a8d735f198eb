"""The sign-in lockout the registry uses (services.common.admin_auth), on a test clock."""

from __future__ import annotations

from services.common.admin_auth import LoginThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make(clock: Clock) -> LoginThrottle:
    return LoginThrottle(max_failures=5, window_seconds=900, lockout_seconds=900, clock=clock)


def test_fifth_failure_in_the_window_locks_for_the_lockout_time() -> None:
    clock = Clock()
    throttle = make(clock)
    key = throttle.key("Admin ", "10.0.0.1")
    assert key == ("admin", "10.0.0.1")  # usernames are compared as the form sends them, trimmed
    assert [throttle.failed(key) for _ in range(4)] == [False] * 4
    assert throttle.locked_for(key) == 0
    assert throttle.failed(key) is True
    assert throttle.locked_for(key) == 900
    clock.now += 899
    assert throttle.locked_for(key) == 1
    clock.now += 1
    assert throttle.locked_for(key) == 0
    # The count started again after the lockout.
    assert throttle.failed(key) is False


def test_failures_outside_the_window_do_not_count() -> None:
    clock = Clock()
    throttle = make(clock)
    key = throttle.key("admin", "10.0.0.1")
    for _ in range(4):
        throttle.failed(key)
        clock.now += 300  # 4 failures spread over 20 minutes
    assert throttle.failed(key) is False
    assert throttle.locked_for(key) == 0


def test_success_resets_and_keys_are_separate() -> None:
    clock = Clock()
    throttle = make(clock)
    key, other = throttle.key("admin", "a"), throttle.key("admin", "b")
    for _ in range(4):
        throttle.failed(key)
    throttle.succeeded(key)
    assert throttle.failed(key) is False
    for _ in range(5):
        throttle.failed(other)
    assert throttle.locked_for(other) > 0
    assert throttle.locked_for(key) == 0


def test_the_username_limit_locks_every_address() -> None:
    # The attack: a new X-Forwarded-For value per try, so no address reaches 5 failures.
    clock = Clock()
    throttle = LoginThrottle(
        max_failures=5,
        max_username_failures=20,
        window_seconds=900,
        lockout_seconds=900,
        clock=clock,
    )
    for n in range(19):
        key = throttle.key("curator", f"198.51.100.{n}")
        assert throttle.failed(key) is False
        assert throttle.locked_for(key) == 0
    assert throttle.failed(throttle.key("curator", "198.51.100.19")) is True
    # Locked for the username: from a fresh address, and from the admin's own.
    assert throttle.locked_for(throttle.key("curator", "203.0.113.200")) == 900
    assert throttle.locked_for(throttle.key("CURATOR ", "10.0.0.1")) == 900
    assert throttle.username_locked(throttle.key("curator", "10.0.0.1"))
    clock.now += 900
    assert throttle.locked_for(throttle.key("curator", "10.0.0.1")) == 0


def test_a_pair_lockout_is_not_a_username_lockout() -> None:
    clock = Clock()
    throttle = make(clock)
    key = throttle.key("curator", "10.0.0.1")
    for _ in range(5):
        throttle.failed(key)
    assert throttle.locked_for(key) == 900
    assert not throttle.username_locked(key)
    assert throttle.locked_for(throttle.key("curator", "10.0.0.2")) == 0


def test_username_failures_outside_the_window_do_not_count() -> None:
    clock = Clock()
    throttle = LoginThrottle(
        max_failures=5, max_username_failures=3, window_seconds=60, lockout_seconds=60, clock=clock
    )
    throttle.failed(throttle.key("curator", "a"))
    throttle.failed(throttle.key("curator", "b"))
    clock.now += 61
    assert throttle.failed(throttle.key("curator", "c")) is False
    assert throttle.locked_for(throttle.key("curator", "d")) == 0
