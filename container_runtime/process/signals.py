"""Turning SIGTERM, SIGINT and SIGCHLD into readable events for the supervisor's select loop.

`SignalInbox` installs handlers that only record the signal and lets `signal.set_wakeup_fd`
wake the loop, so no signal is lost while `train` waits, and nothing polls.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterable
from types import FrameType, TracebackType

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class SignalInbox:
    """A context manager that records stop signals and wakes a selector on every signal."""

    def __init__(self, stop_signals: Iterable[signal.Signals] = STOP_SIGNALS) -> None:
        self._stop_signals = tuple(stop_signals)
        self._received: list[signal.Signals] = []
        self._delivered = 0
        self._previous_handlers: dict[signal.Signals, object] = {}
        self._previous_wakeup_fd = -1
        self._read_fd = -1
        self._write_fd = -1

    @property
    def fileno(self) -> int:
        """Readable whenever a signal arrived; drain with `drain()`."""
        return self._read_fd

    @property
    def first_stop_signal(self) -> signal.Signals | None:
        return self._received[0] if self._received else None

    def take_new_stop_signals(self) -> list[signal.Signals]:
        """Stop signals received since the previous call, oldest first."""
        new = self._received[self._delivered :]
        self._delivered = len(self._received)
        return new

    def drain(self) -> None:
        try:
            while os.read(self._read_fd, 512):
                pass
        except BlockingIOError:
            pass

    def __enter__(self) -> SignalInbox:
        self._read_fd, self._write_fd = os.pipe()
        os.set_blocking(self._read_fd, False)
        os.set_blocking(self._write_fd, False)
        self._previous_wakeup_fd = signal.set_wakeup_fd(self._write_fd, warn_on_full_buffer=False)
        for signum in (*self._stop_signals, signal.SIGCHLD):
            self._previous_handlers[signum] = signal.signal(signum, self._record)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        for signum, handler in self._previous_handlers.items():
            signal.signal(signum, handler)  # type: ignore[arg-type]
        signal.set_wakeup_fd(self._previous_wakeup_fd)
        os.close(self._read_fd)
        os.close(self._write_fd)

    def _record(self, signum: int, frame: FrameType | None) -> None:
        if signum != signal.SIGCHLD:
            self._received.append(signal.Signals(signum))
