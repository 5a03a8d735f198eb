"""Free TCP ports on loopback, for `videorecs up`, the test stack and the benchmarks."""

from __future__ import annotations

import random
import socket


def port_in_use(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now (the kernel's pick)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def free_port_block(host: str = "127.0.0.1", count: int = 5) -> int:
    """A base port with `count` consecutive ports free on `host` (an app's five)."""
    for _ in range(200):
        base = random.randrange(20_000, 60_000)
        if not any(port_in_use(host, base + i) for i in range(count)):
            return base
    raise RuntimeError(f"no block of {count} free ports on {host}")
