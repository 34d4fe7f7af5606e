"""Progress for people: byte counts of long transfers and how long each host has run.

On a terminal a transfer redraws one line; elsewhere (CI logs, files) it prints a line at most
every few seconds, so logs stay short.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

LINE_INTERVAL = 5.0
REDRAW_INTERVAL = 0.2


def human_bytes(count: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if count < 1024 or unit == "GB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} GB"


def human_seconds(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f}s"
    seconds = int(seconds)
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


class TransferProgress:
    """Counts bytes of one download or upload and shows them now and then."""

    def __init__(self, label: str, total: int | None = None, stream: TextIO | None = None) -> None:
        self.label = label
        self.total = total
        self.stream = stream if stream is not None else sys.stderr
        self.done = 0
        self.started = time.monotonic()
        self._shown_at = 0.0
        self._lock = threading.Lock()  # boto3 reports from several transfer threads
        self._interactive = bool(getattr(self.stream, "isatty", lambda: False)())

    def __call__(self, count: int) -> None:
        """boto3's `Callback` signature: bytes moved since the previous call."""
        with self._lock:
            self.done += count
            now = time.monotonic()
            interval = REDRAW_INTERVAL if self._interactive else LINE_INTERVAL
            if now - self._shown_at >= interval:
                self._shown_at = now
                self._show(final=False)

    def finish(self) -> None:
        with self._lock:
            self._show(final=True)

    def _show(self, final: bool) -> None:
        elapsed = max(time.monotonic() - self.started, 1e-6)
        amount = human_bytes(self.done)
        if self.total:
            amount += f" of {human_bytes(self.total)} ({100 * self.done / self.total:.0f}%)"
        text = f"{self.label}: {amount}, {human_bytes(self.done / elapsed)}/s"
        if self._interactive:
            self.stream.write(f"\r\033[K{text}" + ("\n" if final else ""))
        elif final or self.done:
            self.stream.write(text + "\n")
        self.stream.flush()
