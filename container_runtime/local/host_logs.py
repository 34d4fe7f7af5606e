"""Relaying every host's output: to the console with a host prefix, to the host's log file, and
through the metric collector."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, TextIO


class HostLogRelay:
    """One thread per host reads its merged stdout/stderr line by line until it closes."""

    def __init__(self, console: TextIO | None, on_line: Callable[[str, str, float], None] | None = None) -> None:
        self.console = console
        self.on_line = on_line
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self.width = 0

    def follow(self, host: str, stream: IO[bytes], log_file: Path) -> None:
        self.width = max(self.width, len(host))
        thread = threading.Thread(target=self._relay, args=(host, stream, log_file), name=f"log-{host}", daemon=True)
        thread.start()
        self._threads.append(thread)

    def wait(self, timeout: float | None = None) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in self._threads:
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))

    def say(self, text: str) -> None:
        """A line of our own, kept apart from the hosts' lines."""
        if self.console is not None:
            with self._lock:
                self.console.write(text + "\n")
                self.console.flush()

    def _relay(self, host: str, stream: IO[bytes], log_file: Path) -> None:
        with log_file.open("ab") as log:
            for raw in iter(stream.readline, b""):
                log.write(raw)
                log.flush()
                line = raw.decode(errors="replace").rstrip("\r\n")
                now = time.time()
                with self._lock:
                    if self.on_line is not None:
                        self.on_line(host, line, now)
                    if self.console is not None:
                        self.console.write(f"{host.ljust(self.width)} | {line}\n")
                        self.console.flush()
        stream.close()
