"""Worker health shared through a directory, so any worker can answer `/ping` for all.

Each worker writes one small file named by its pid: `loading`, `ready` or `failed` with a
reason. The master removes a dead worker's file. `/ping` is healthy only when as many workers
as configured report `ready`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

LOADING, READY, FAILED = "loading", "ready", "failed"


class HealthSummary(NamedTuple):
    healthy: bool
    status: str
    message: str


class WorkerHealth:
    def __init__(self, directory: Path, expected_workers: int) -> None:
        self.directory = directory
        self.expected_workers = expected_workers

    def report(self, state: str, reason: str = "", pid: int | None = None) -> None:
        pid = pid or os.getpid()
        temporary = self.directory / f".{pid}.tmp"
        temporary.write_text(f"{state}\n{reason}", encoding="utf-8")
        os.replace(temporary, self.directory / str(pid))

    def forget(self, pid: int) -> None:
        try:
            os.unlink(self.directory / str(pid))
        except FileNotFoundError:
            pass

    def summary(self) -> HealthSummary:
        states: dict[str, int] = {}
        failures: list[str] = []
        for entry in os.scandir(self.directory):
            if entry.name.startswith("."):
                continue
            try:
                state, _, reason = Path(entry.path).read_text(encoding="utf-8").partition("\n")
            except OSError:
                continue
            states[state] = states.get(state, 0) + 1
            if state == FAILED:
                failures.append(reason)
        ready = states.get(READY, 0)
        if failures:
            return HealthSummary(False, FAILED, f"model_fn failed in {len(failures)} worker(s): {failures[0]}")
        if ready >= self.expected_workers:
            return HealthSummary(True, READY, f"{ready} worker(s) ready")
        return HealthSummary(False, LOADING, f"{ready} of {self.expected_workers} workers have loaded the model")
