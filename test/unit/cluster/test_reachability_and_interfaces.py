"""Bounded waits that name the hosts, and the choice of the network MPI uses."""

from __future__ import annotations

import socket
from collections.abc import Sequence

import pytest

from container_runtime.cluster.errors import ClusterError
from container_runtime.cluster.interfaces import choose_interface, has_interface, subnet_of
from container_runtime.cluster.reachability import greets_with_ssh, unresolved, wait_for_hosts


def no_stop() -> None:
    return None


def test_a_wait_returns_as_soon_as_nothing_is_pending() -> None:
    calls: list[list[str]] = []

    def pending(hosts: Sequence[str]) -> list[str]:
        calls.append(list(hosts))
        return [host for host in hosts if host == "algo-2" and len(calls) < 3]

    wait_for_hosts(["algo-1", "algo-2"], pending, what="answered", timeout=10, check_stop=no_stop)
    # Hosts that answered are not asked again.
    assert calls == [["algo-1", "algo-2"], ["algo-2"], ["algo-2"]]


def test_a_timed_out_wait_names_every_host_still_pending() -> None:
    with pytest.raises(ClusterError, match=r"^algo-2, algo-3 never answered SSH within 0 s \(SM_HOST_WAIT_SECONDS\)$"):
        wait_for_hosts(["algo-2", "algo-3"], list, what="answered SSH", timeout=0.1, check_stop=no_stop)


def test_a_stop_signal_ends_the_wait() -> None:
    class Stopped(Exception):
        pass

    def stop() -> None:
        raise Stopped

    with pytest.raises(Stopped):
        wait_for_hosts(["algo-2"], list, what="answered", timeout=10, check_stop=stop)


def test_names_that_do_not_resolve_are_reported() -> None:
    assert unresolved(["localhost", "no-such-host.invalid"]) == ["no-such-host.invalid"]


def test_only_a_real_ssh_greeting_counts() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        assert not greets_with_ssh("127.0.0.1", port, timeout=0.3)  # accepts, says nothing
    assert not greets_with_ssh("127.0.0.1", port, timeout=0.3)  # refused


def test_the_loopback_subnet_is_found() -> None:
    assert has_interface("lo")
    assert subnet_of("127.0.0.1") == "127.0.0.0/8"
    assert subnet_of("192.0.2.77") is None


@pytest.mark.parametrize(
    ("master_has_it", "workers", "expected"),
    [
        (True, [("lo", True)], "lo"),
        (True, [("eth0", True)], "127.0.0.0/8"),  # names differ
        (True, [("lo", False)], "127.0.0.0/8"),  # missing on a worker
        (False, [("lo", True)], "127.0.0.0/8"),  # missing on the master
    ],
)
def test_the_interface_name_is_used_only_where_every_host_has_it(
    master_has_it: bool, workers: list[tuple[str, bool]], expected: str
) -> None:
    chosen, why = choose_interface("lo", master_has_it, workers, "127.0.0.1")
    assert chosen == expected
    assert expected in why
