"""A worker's side of the link: join the master, report readiness, and wait for the verdict.

A worker runs no user code itself (the master's mpirun starts its ranks over SSH); it stays
up until the master says how the job ended and then ends the same way. If the master goes
away first, the worker fails at once (closed connection) or within the keepalive bound (a
vanished host).
"""

from __future__ import annotations

import selectors
import socket
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

from container_runtime.cluster.errors import ClusterError
from container_runtime.cluster.link import LinkClosed, MessageLink, Verdict
from container_runtime.log import get_logger
from container_runtime.process import SignalInbox

logger = get_logger(__name__)
CONNECT_TIMEOUT = 2.0
LONGEST_PAUSE = 0.5


class MasterLink:
    """A context manager holding this worker's connection to the master."""

    def __init__(self, master: str, port: int) -> None:
        self.master = master
        self.port = port
        self.link: MessageLink | None = None

    def __enter__(self) -> MasterLink:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if self.link is not None:
            self.link.close()

    def join(self, hello: dict[str, Any], *, timeout: float, check_stop: Callable[[], None]) -> None:
        """Connect (retrying while the master is not listening yet) and introduce this host."""
        deadline = time.monotonic() + timeout
        pause = 0.02
        last_error = ""
        while True:
            check_stop()
            try:
                connection = socket.create_connection((self.master, self.port), timeout=CONNECT_TIMEOUT)
                break
            except OSError as error:
                last_error = str(error)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ClusterError(
                    f"the master {self.master} never accepted a connection on port {self.port} within "
                    f"{timeout:.0f} s (SM_HOST_WAIT_SECONDS): {last_error}"
                )
            time.sleep(min(pause, remaining))
            pause = min(pause * 2, LONGEST_PAUSE)
        connection.settimeout(None)
        self.link = MessageLink(connection)
        self._send(hello)

    def report_ready(self) -> None:
        self._send({"ready": True})

    def report_failure(self, reason: str) -> None:
        try:
            self._send({"failed": reason})
        except ClusterError:
            pass  # The master is gone already; our own failure is what matters here.

    def wait_for_verdict(self, inbox: SignalInbox, check_stop: Callable[[], None]) -> Verdict:
        """Block until the master's verdict arrives (acknowledged), a stop signal, or the link dies."""
        assert self.link is not None
        selector = selectors.DefaultSelector()
        selector.register(self.link.connection, selectors.EVENT_READ, "link")
        selector.register(inbox.fileno, selectors.EVENT_READ, "signal")
        try:
            while True:
                check_stop()
                for key, _ in selector.select():
                    if key.data == "signal":
                        inbox.drain()
                        continue  # check_stop() on the next turn raises for a stop signal
                    try:
                        messages = self.link.pending_messages()
                    except LinkClosed as closed:
                        raise ClusterError(
                            f"lost the master {self.master} before it sent the job's outcome ({closed}): "
                            "its train ended or its host went away"
                        ) from closed
                    for message in messages:
                        if "verdict" in message:
                            verdict = Verdict(
                                state=str(message["verdict"]),
                                reason=str(message.get("reason", "")),
                                exit_code=int(message.get("exit_code", 1)),
                            )
                            self._send({"ack": True})
                            return verdict
        finally:
            selector.close()

    def _send(self, message: dict[str, Any]) -> None:
        assert self.link is not None
        try:
            self.link.send(message)
        except LinkClosed as closed:
            raise ClusterError(f"lost the master {self.master} ({closed})") from closed
