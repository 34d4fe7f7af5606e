"""The master-worker link over real loopback sockets: joining, readiness, the verdict and its
acknowledgement, and what each side sees when the other goes away."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from container_runtime.cluster.errors import ClusterError
from container_runtime.cluster.link import LinkClosed, MessageLink, Verdict
from container_runtime.cluster.master import WorkerRoster
from container_runtime.cluster.worker import MasterLink
from container_runtime.process import SignalInbox


def no_stop() -> None:
    return None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def inbox() -> Iterator[SignalInbox]:
    with SignalInbox() as signals:
        yield signals


def hello(name: str) -> dict[str, object]:
    return {"joined": name, "interface": "eth0", "has_interface": True}


def tcp_pair() -> tuple[socket.socket, socket.socket]:
    with socket.create_server(("127.0.0.1", 0)) as server:
        left = socket.create_connection(server.getsockname())
        right, _ = server.accept()
    return left, right


def test_messages_split_across_reads_arrive_whole() -> None:
    left, right = tcp_pair()
    sender, receiver = MessageLink(left), MessageLink(right)
    left.sendall(b'{"a": 1}\n{"b"')
    assert receiver.pending_messages() == [{"a": 1}]
    left.sendall(b': 2}\n')
    assert receiver.pending_messages() == [{"b": 2}]
    sender.close()
    with pytest.raises(LinkClosed):
        receiver.pending_messages()


def test_a_worker_joins_gets_ready_and_receives_the_verdict(port: int, inbox: SignalInbox) -> None:
    received: list[Verdict] = []
    with WorkerRoster(["algo-2"], port) as roster:
        def worker() -> None:
            with MasterLink("127.0.0.1", port) as link:
                link.join(hello("algo-2"), timeout=10, check_stop=no_stop)
                link.report_ready()
                received.append(link.wait_for_verdict(inbox, no_stop))

        thread = threading.Thread(target=worker)
        thread.start()
        roster.wait_until(roster.all_ready, timeout=10, check_stop=no_stop)
        assert roster.joined["algo-2"].interface == "eth0"
        roster.announce(Verdict("failed", "rank 1: ValueError: boom", 1))
        thread.join(10)
    assert received == [Verdict("failed", "rank 1: ValueError: boom", 1)]
    assert roster.left == {}


def test_the_master_names_workers_that_never_join(port: int) -> None:
    with WorkerRoster(["algo-2", "algo-3"], port) as roster, MasterLink("127.0.0.1", port) as link:
        link.join(hello("algo-2"), timeout=10, check_stop=no_stop)
        with pytest.raises(ClusterError, match=r"^algo-3 never connected to the master on port \d+ within 0 s"):
            roster.wait_until(roster.all_joined, timeout=0.3, check_stop=no_stop)


def test_a_worker_failing_to_prepare_ends_the_masters_wait(port: int) -> None:
    with WorkerRoster(["algo-2"], port) as roster, MasterLink("127.0.0.1", port) as link:
        link.join(hello("algo-2"), timeout=10, check_stop=no_stop)
        link.report_failure("InstallRequirementsError: exit code 1")
        with pytest.raises(ClusterError, match="host algo-2 could not prepare the job: InstallRequirementsError"):
            roster.wait_until(roster.all_ready, timeout=None, check_stop=no_stop)


def test_a_worker_that_disconnects_is_reported_at_once(port: int) -> None:
    left = threading.Event()
    with WorkerRoster(["algo-2"], port) as roster:
        roster.on_host_left = lambda host: left.set()
        with MasterLink("127.0.0.1", port) as link:
            link.join(hello("algo-2"), timeout=10, check_stop=no_stop)
            link.report_ready()
            roster.wait_until(roster.all_ready, timeout=10, check_stop=no_stop)
        assert left.wait(5)
        assert "algo-2" in roster.left


def test_strangers_are_not_taken_for_workers(port: int) -> None:
    with WorkerRoster(["algo-2"], port) as roster, MasterLink("127.0.0.1", port) as link:
        link.join(hello("intruder"), timeout=10, check_stop=no_stop)
        with pytest.raises(ClusterError, match="algo-2 never connected"):
            roster.wait_until(roster.all_joined, timeout=0.3, check_stop=no_stop)


def test_a_worker_whose_master_closes_without_a_verdict_fails(port: int, inbox: SignalInbox) -> None:
    roster = WorkerRoster(["algo-2"], port).__enter__()
    with MasterLink("127.0.0.1", port) as link:
        link.join(hello("algo-2"), timeout=10, check_stop=no_stop)
        roster.wait_until(roster.all_joined, timeout=10, check_stop=no_stop)
        roster.__exit__(None, None, None)
        with pytest.raises(ClusterError, match="lost the master 127.0.0.1 before it sent the job's outcome"):
            link.wait_for_verdict(inbox, no_stop)


def test_a_worker_gives_up_on_a_master_that_never_listens(port: int) -> None:
    expected = r"the master 127.0.0.1 never accepted a connection on port \d+ within 0 s"
    with MasterLink("127.0.0.1", port) as link, pytest.raises(ClusterError, match=expected):
        link.join(hello("algo-2"), timeout=0.2, check_stop=no_stop)


def test_a_busy_coordinator_port_is_a_clear_error(port: int) -> None:
    with socket.socket() as taken:
        taken.bind(("", port))
        taken.listen()
        with pytest.raises(ClusterError, match=f"cannot listen for the workers on port {port} .SM_COORDINATOR_PORT."):
            WorkerRoster(["algo-2"], port).__enter__()
