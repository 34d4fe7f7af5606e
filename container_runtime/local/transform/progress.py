"""Progress of a transform job, for people: records done and the rate, a line at most every few seconds."""

from __future__ import annotations

import time
from typing import TextIO

from container_runtime.local.progress import human_seconds

#: Seconds between progress lines while files are being transformed.
LINE_INTERVAL = 5.0


class TransformProgress:
    """Counts records and finished files; `stream=None` keeps quiet."""

    def __init__(self, stream: TextIO | None, files: int, *, interval: float = LINE_INTERVAL) -> None:
        self.stream = stream
        self.files = files
        self.interval = interval
        self.records = 0
        self.files_done = 0
        self.started = time.monotonic()
        self._shown_at = self.started

    def add(self, records: int) -> None:
        self.records += records
        now = time.monotonic()
        if now - self._shown_at >= self.interval:
            self._shown_at = now
            self._line(f"{self.records} records, {self.files_done} of {self.files} files, {self.rate():.0f} records/s")

    def file_done(self, location: str, records: int) -> None:
        self.files_done += 1
        self._line(f"wrote {location} ({records} records)")

    def seconds(self) -> float:
        return time.monotonic() - self.started

    def rate(self) -> float:
        return self.records / max(self.seconds(), 1e-6)

    def summary(self) -> str:
        return (f"{self.records} records from {self.files_done} of {self.files} files in "
                f"{human_seconds(self.seconds())} ({self.rate():.0f} records/s)")

    def _line(self, text: str) -> None:
        if self.stream is not None:
            self.stream.write(f"transform: {text}\n")
            self.stream.flush()
