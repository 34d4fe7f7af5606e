"""A live view of a tuning job's training jobs for the person who started it.

On a terminal a compact table is redrawn in place (running jobs first, then the latest finished
ones, under a line of SageMaker's status counters and the best job so far). Anywhere else (CI
logs, files) redrawing would repeat the table on every poll, so only events are printed, one
line each: a job started, a job ended (with its status and objective), a new best. Nothing else
should write to the same terminal stream while a board is drawn there, or the redraw overwrites it.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

from container_runtime.local.progress import human_seconds
from container_runtime.local.status import JobStatus
from container_runtime.local.tuning.records import TrialRecord

MAX_ROWS = 15
RUNNING = (JobStatus.IN_PROGRESS, "Stopping")
COUNTED = (JobStatus.COMPLETED, JobStatus.IN_PROGRESS, JobStatus.FAILED, JobStatus.STOPPED)
NAME_WIDTH = 40


def _value(value: float | None) -> str:
    return "-" if value is None else f"{value:.6g}"


def _params(tuned: Mapping[str, Any], limit: int = 100) -> str:
    text = ", ".join(
        f"{name}={value:.4g}" if isinstance(value, float) else f"{name}={value}"
        for name, value in sorted(tuned.items())
    )
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _first_line(text: str | None, limit: int = 100) -> str:
    stripped = (text or "").strip()
    line = stripped.splitlines()[0] if stripped else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


class TrialBoard:
    """Shows the training jobs of one tuning job as they start and end; feed it with `update`."""

    def __init__(self, stream: TextIO, objective_name: str, objective_type: str, interval: float = 1.0) -> None:
        self.stream = stream
        self.objective_name = objective_name
        self.objective_type = objective_type
        self.interval = interval
        try:
            self.interactive = bool(stream.isatty())
        except (AttributeError, ValueError, OSError):
            self.interactive = False
        self._drawn_lines = 0
        self._drawn_at = -math.inf
        self._latest: tuple[list[TrialRecord], dict[str, float], TrialRecord | None] | None = None
        self._undrawn = False
        self._reported: dict[str, str] = {}  # job name -> the status last printed for it
        self._best: tuple[str, float | None] | None = None
        self._closed = False

    def update(
        self, records: Sequence[TrialRecord], running_elapsed: Mapping[str, float], best: TrialRecord | None
    ) -> None:
        """Take the current state: redraw the table (at most every `interval` seconds) or print new events."""
        if self._closed:
            return
        if not self.interactive:
            self._print_events(records, best)
            return
        self._latest = (list(records), dict(running_elapsed), best)
        self._undrawn = True
        now = time.monotonic()
        if now - self._drawn_at >= self.interval:
            self._draw(now)

    def close(self) -> None:
        """Draw the last state a throttled update skipped, and leave the table on screen."""
        if self._closed:
            return
        if self.interactive and self._undrawn:
            self._draw(time.monotonic())
        self._closed = True
        self.stream.flush()

    # Events, for logs.

    def _print_events(self, records: Sequence[TrialRecord], best: TrialRecord | None) -> None:
        lines = []
        for record in records:
            status = record.job_status
            if self._reported.get(record.job_name) == status:
                continue
            self._reported[record.job_name] = status
            lines.append(self._event(record))
        if best is not None and best.final_value is not None:
            key = (best.job_name, best.final_value)
            if key != self._best:
                self._best = key
                lines.append(f"new best: {best.job_name} {self.objective_name}={_value(best.final_value)}")
        if lines:
            self.stream.write("".join(line + "\n" for line in lines))
            self.stream.flush()

    def _event(self, record: TrialRecord) -> str:
        name, status = record.job_name, record.job_status
        if status == JobStatus.IN_PROGRESS:
            params = _params(record.tuned)
            return f"{name} started" + (f" ({params})" if params else "")
        if status in RUNNING:
            return f"{name} {status}"
        text = f"{name} {status}"
        if record.stop_reason:
            text += f" ({record.stop_reason})"
        if record.final_value is not None:
            text += f": {self.objective_name}={_value(record.final_value)}"
        elif record.objective_status == "Failed":
            text += f": no {self.objective_name}"
        if record.elapsed_seconds is not None:
            text += f" after {human_seconds(record.elapsed_seconds)}"
        reason = _first_line(record.failure_reason)
        return text + (f" - {reason}" if reason and status == "Failed" else "")

    # The table, for terminals.

    def _draw(self, now: float) -> None:
        assert self._latest is not None
        lines = self._table(*self._latest)
        width = self._width()
        lines = [line if len(line) < width else line[: max(width - 2, 1)] + "…" for line in lines]
        if self._drawn_lines:
            self.stream.write(f"\x1b[{self._drawn_lines}A\r")
        self.stream.write("\x1b[J" + "".join(line + "\n" for line in lines))
        self.stream.flush()
        self._drawn_lines = len(lines)
        self._drawn_at = now
        self._undrawn = False

    def _width(self) -> int:
        """Lines must not wrap, or moving the cursor up by the line count would miss the table's top."""
        try:
            return os.get_terminal_size(self.stream.fileno()).columns
        except (AttributeError, ValueError, OSError):
            return 120

    def _table(
        self, records: list[TrialRecord], running_elapsed: dict[str, float], best: TrialRecord | None
    ) -> list[str]:
        counts: dict[str, int] = dict.fromkeys(COUNTED, 0)
        for record in records:
            status = JobStatus.IN_PROGRESS if record.job_status in RUNNING else record.job_status
            if status in counts:
                counts[status] += 1
        header = "  ".join(f"{status} {count}" for status, count in counts.items())
        if best is not None:
            header += f"  | best {best.job_name} {self.objective_name}={_value(best.final_value)}"
        running = sorted((r for r in records if r.job_status in RUNNING), key=lambda r: r.number)
        finished = sorted(
            (r for r in records if r.job_status not in RUNNING),
            key=lambda r: (r.end_time or "", r.number),
            reverse=True,
        )
        shown = [*running, *finished]
        hidden = 0
        if len(shown) > MAX_ROWS:
            hidden = len(shown) - (MAX_ROWS - 1)
            shown = shown[: MAX_ROWS - 1]
        width = min(NAME_WIDTH, max([len(r.job_name) for r in shown] + [3]))
        lines = [
            f"{self.objective_type} {self.objective_name}: {header}",
            f"  {'job':<{width}}  {'status':<10}  {'objective':>11}  {'elapsed':>7}  parameters",
        ]
        best_name = best.job_name if best is not None else None
        for record in shown:
            if record.job_status in RUNNING:
                elapsed = running_elapsed.get(record.job_name)
                latest = record.objective_series[-1][1] if record.objective_series else None
                objective = _value(latest) + ("~" if latest is not None else "")  # ~: not final yet
            else:
                elapsed = record.elapsed_seconds
                objective = _value(record.final_value)
            mark = "*" if record.job_name == best_name else " "
            name = record.job_name if len(record.job_name) <= width else "…" + record.job_name[-(width - 1) :]
            elapsed_text = "-" if elapsed is None else human_seconds(elapsed)
            lines.append(
                f"{mark} {name:<{width}}  {record.job_status:<10}  {objective:>11}  {elapsed_text:>7}  "
                f"{_params(record.tuned, 60)}"
            )
        if hidden:
            lines.append(f"  … {hidden} more jobs not shown")
        return lines
