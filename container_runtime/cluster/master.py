"""The master's side of the link: gather the workers, watch them while the job runs, and tell
each of them how the job ended.

A background thread accepts workers and reads their messages, so the main thread can
supervise mpirun at the same time. A worker that disconnects before the verdict is a host
that left the job: the `on_host_left` callback (which ends mpirun) runs at once.
"""

from __future__ import annotations

import selectors
import socket
import threading
import time
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any, NamedTuple

from container_runtime.cluster.errors import ClusterError
from container_runtime.cluster.link import LinkClosed, MessageLink, Verdict
from container_runtime.log import get_logger

logger = get_logger(__name__)
ACK_SECONDS = 5.0
POLL_SECONDS = 0.5


class WorkerInfo(NamedTuple):
    host: str
    #: The worker's `network_interface_name` and whether that interface exists there.
    interface: str
    has_interface: bool
    #: The master's own address on this worker's connection.
    master_address: str


class WorkerRoster:
    """A context manager: listens on the coordinator port until the verdict is sent."""

    def __init__(self, workers: Sequence[str], port: int) -> None:
        self.expected = tuple(workers)
        self.port = port
        self.joined: dict[str, WorkerInfo] = {}
        self.ready: set[str] = set()
        self.failed: dict[str, str] = {}
        self.left: dict[str, str] = {}
        self.on_host_left: Callable[[str], None] | None = None
        self._links: dict[str, MessageLink] = {}
        self._unnamed: set[MessageLink] = set()
        self._condition = threading.Condition()
        self._closing = False
        self._server: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._acks: set[str] = set()

    def __enter__(self) -> WorkerRoster:
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            server.bind(("", self.port))
        except OSError as error:
            server.close()
            message = f"cannot listen for the workers on port {self.port} (SM_COORDINATOR_PORT): {error}"
            raise ClusterError(message) from error
        server.listen(max(16, len(self.expected)))
        self._server = server
        self._thread = threading.Thread(target=self._serve, name="worker-roster", daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        with self._condition:
            self._closing = True
        if self._thread is not None:
            self._thread.join(POLL_SECONDS * 4)
        if self._server is not None:
            self._server.close()
        for link in [*self._links.values(), *self._unnamed]:
            link.close()

    def wait_until(
        self, done: Callable[[], bool], *, timeout: float | None, check_stop: Callable[[], None]
    ) -> None:
        """Block until `done()` (read under the lock) holds; ClusterError naming who is missing."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._condition:
            while True:
                self._raise_for_failed_or_left()
                if done():
                    return
                check_stop()
                if deadline is not None and time.monotonic() >= deadline:
                    raise ClusterError(self._missing_message(timeout or 0.0))
                self._condition.wait(POLL_SECONDS)

    def all_joined(self) -> bool:
        return set(self.joined) >= set(self.expected)

    def all_ready(self) -> bool:
        return self.ready >= set(self.expected)

    def announce(self, verdict: Verdict) -> None:
        """Send the verdict to every connected worker and wait (bounded) for their acknowledgements."""
        with self._condition:
            links = dict(self._links)
        for host, link in links.items():
            try:
                link.send({"verdict": verdict.state, "reason": verdict.reason, "exit_code": verdict.exit_code})
            except LinkClosed:
                logger.warning("Could not tell %s the job's outcome: its connection is closed", host)
        deadline = time.monotonic() + ACK_SECONDS
        with self._condition:
            while not self._acks >= set(links) - set(self.left):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    missing = sorted(set(links) - self._acks - set(self.left))
                    logger.warning("No acknowledgement of the outcome from %s", ", ".join(missing))
                    break
                self._condition.wait(min(remaining, POLL_SECONDS))
            self._closing = True

    def _raise_for_failed_or_left(self) -> None:
        if self.failed:
            host, reason = next(iter(self.failed.items()))
            raise ClusterError(f"host {host} could not prepare the job: {reason}")
        if self.left:
            host, detail = next(iter(self.left.items()))
            raise ClusterError(f"host {host} left before the job started ({detail})")

    def _missing_message(self, timeout: float) -> str:
        not_joined = [host for host in self.expected if host not in self.joined]
        if not_joined:
            return (
                f"{', '.join(not_joined)} never connected to the master on port {self.port} within "
                f"{timeout:.0f} s (SM_HOST_WAIT_SECONDS): is train running there, and is the port open?"
            )
        not_ready = [host for host in self.expected if host not in self.ready]
        return f"{', '.join(not_ready)} did not get ready within {timeout:.0f} s"

    # The thread below owns the sockets; the main thread reads the shared state under the lock.

    def _serve(self) -> None:
        assert self._server is not None
        selector = selectors.DefaultSelector()
        selector.register(self._server, selectors.EVENT_READ, None)
        try:
            while True:
                with self._condition:
                    if self._closing:
                        return
                for key, _ in selector.select(POLL_SECONDS):
                    if key.data is None:
                        self._accept(selector)
                    else:
                        self._read(selector, key.data)
        finally:
            selector.close()

    def _accept(self, selector: selectors.BaseSelector) -> None:
        assert self._server is not None
        try:
            connection, _ = self._server.accept()
        except OSError:
            return
        link = MessageLink(connection)
        self._unnamed.add(link)
        selector.register(connection, selectors.EVENT_READ, link)

    def _read(self, selector: selectors.BaseSelector, link: MessageLink) -> None:
        host = next((name for name, known in self._links.items() if known is link), None)
        try:
            messages = link.pending_messages()
        except LinkClosed as closed:
            selector.unregister(link.connection)
            link.close()
            self._unnamed.discard(link)
            if host is not None:
                self._host_left(host, str(closed))
            return
        for message in messages:
            host = self._handle(link, host, message)

    def _handle(self, link: MessageLink, host: str | None, message: dict[str, Any]) -> str | None:
        with self._condition:
            if "joined" in message:
                name = str(message["joined"])
                if name not in self.expected:
                    logger.warning("Ignoring a connection from %r, which is not a worker of this job", name)
                    link.close()
                    return None
                self._unnamed.discard(link)
                self._links[name] = link
                self.joined[name] = WorkerInfo(
                    host=name,
                    interface=str(message.get("interface", "")),
                    has_interface=bool(message.get("has_interface")),
                    master_address=link.connection.getsockname()[0],
                )
                host = name
            elif host is None:
                return None
            elif message.get("ready"):
                self.ready.add(host)
            elif "failed" in message:
                self.failed[host] = str(message["failed"])
            elif message.get("ack"):
                self._acks.add(host)
            self._condition.notify_all()
        return host

    def _host_left(self, host: str, detail: str) -> None:
        with self._condition:
            if host in self._acks or self._closing:
                return
            self._links.pop(host, None)
            self.left[host] = detail
            self._condition.notify_all()
            callback = self.on_host_left
        logger.error("Host %s left the job: %s", host, detail)
        if callback is not None:
            callback(host)
