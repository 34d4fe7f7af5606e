"""The master-worker link: newline-delimited JSON messages over one TCP connection per worker.

Worker to master: `{"joined": host, ...}` as soon as its sshd runs, then `{"ready": true}` once
its code is in place, or `{"failed": reason}`. Master to worker: `{"verdict": state, "reason",
"exit_code"}`, answered with `{"ack": true}`. A closed connection is news too: the worker's
`train` or the master's has gone. TCP keepalive bounds how long a vanished host (no FIN, no
RST) goes unnoticed.
"""

from __future__ import annotations

import json
import socket
from typing import Any, NamedTuple

MAX_MESSAGE_BYTES = 64 * 1024
#: A silent peer is probed after 5 s idle, every 2 s, and declared gone after 3 misses.
KEEPALIVE = (5, 2, 3)


class Verdict(NamedTuple):
    """The job's outcome as the master announces it to every worker."""

    state: str  # "succeeded", "failed" or "stopped"
    reason: str = ""
    exit_code: int = 0


class LinkClosed(Exception):
    """The peer closed the connection, reset it, or stopped answering keepalive probes."""


class MessageLink:
    """One end of a connection that sends and receives whole JSON messages."""

    def __init__(self, connection: socket.socket) -> None:
        self.connection = connection
        self._buffer = b""
        enable_keepalive(connection)

    def fileno(self) -> int:
        return self.connection.fileno()

    def send(self, message: dict[str, Any]) -> None:
        try:
            self.connection.sendall(json.dumps(message).encode() + b"\n")
        except OSError as error:
            raise LinkClosed(str(error)) from error

    def pending_messages(self) -> list[dict[str, Any]]:
        """Read what has arrived (the socket must be readable) and return the whole messages."""
        try:
            data = self.connection.recv(MAX_MESSAGE_BYTES)
        except OSError as error:
            raise LinkClosed(str(error)) from error
        if not data:
            raise LinkClosed("connection closed")
        self._buffer += data
        if len(self._buffer) > MAX_MESSAGE_BYTES:
            raise LinkClosed("message too long")
        *lines, self._buffer = self._buffer.split(b"\n")
        messages = []
        for line in lines:
            try:
                message = json.loads(line)
            except ValueError as error:
                raise LinkClosed(f"garbled message: {error}") from error
            if isinstance(message, dict):
                messages.append(message)
        return messages

    def close(self) -> None:
        try:
            self.connection.close()
        except OSError:
            pass


def enable_keepalive(connection: socket.socket) -> None:
    idle, interval, count = KEEPALIVE
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    for option, value in (("TCP_KEEPIDLE", idle), ("TCP_KEEPINTVL", interval), ("TCP_KEEPCNT", count)):
        if hasattr(socket, option):
            connection.setsockopt(socket.IPPROTO_TCP, getattr(socket, option), value)
    connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
