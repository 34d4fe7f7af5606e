"""Bounded waits for other hosts: their names resolve, their sshd answers.

Each wait polls with a short, growing pause (never a fixed sleep), honours stop signals
through `check_stop`, and on timeout names every host that never answered.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Sequence

from container_runtime.cluster.errors import ClusterError
from container_runtime.log import get_logger

logger = get_logger(__name__)
FIRST_PAUSE = 0.05
LONGEST_PAUSE = 1.0


def wait_for_hosts(
    hosts: Sequence[str],
    pending: Callable[[Sequence[str]], list[str]],
    *,
    what: str,
    timeout: float,
    check_stop: Callable[[], None],
) -> None:
    """Call `pending(hosts)` until it returns no host; ClusterError naming the rest on timeout."""
    deadline = time.monotonic() + timeout
    pause = FIRST_PAUSE
    waiting = list(hosts)
    logged = False
    while True:
        check_stop()
        waiting = pending(waiting)
        if not waiting:
            return
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise ClusterError(
                f"{', '.join(waiting)} never {what} within {timeout:.0f} s (SM_HOST_WAIT_SECONDS)"
            )
        if not logged and pause >= LONGEST_PAUSE / 2:
            logger.info("Waiting until %s %s (up to %.0f s)", ", ".join(waiting), what, timeout)
            logged = True
        time.sleep(min(pause, remaining))
        pause = min(pause * 2, LONGEST_PAUSE)


def unresolved(hosts: Sequence[str]) -> list[str]:
    """The hosts whose names do not resolve yet."""
    missing = []
    for host in hosts:
        try:
            socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            missing.append(host)
    return missing


def ssh_unanswered(port: int) -> Callable[[Sequence[str]], list[str]]:
    """A `pending` check: the hosts whose SSH server does not greet on `port` yet."""

    def check(hosts: Sequence[str]) -> list[str]:
        return [host for host in hosts if not greets_with_ssh(host, port)]

    return check


def greets_with_ssh(host: str, port: int, timeout: float = 2.0) -> bool:
    """True when `host:port` accepts a connection and sends an SSH identification line."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as connection:
            connection.settimeout(timeout)
            return connection.recv(64).startswith(b"SSH-")
    except OSError:
        return False
