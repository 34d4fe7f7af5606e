"""Outcomes of a training job and the failures a stopped or crashed process maps to."""

from __future__ import annotations

import enum
import shlex
import signal
from collections.abc import Sequence
from typing import NamedTuple

from container_runtime.errors import CalledProcessFailure, JobFailure
from container_runtime.process import ProcessOutcome


class JobState(enum.Enum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    STOPPED = "stopped"


class JobStopped(JobFailure):
    """The job was stopped by a signal (StopTrainingJob, spot interruption, Ctrl-C)."""

    def __init__(
        self,
        signum: signal.Signals,
        *,
        command: Sequence[str] = (),
        process_exit_code: int | None = None,
        error_output: str = "",
        killed_after_grace: bool = False,
    ) -> None:
        super().__init__(f"stopped by {signum.name}")
        self.signum = signum
        self.command = tuple(command)
        self.process_exit_code = process_exit_code
        self.error_output = error_output
        self.killed_after_grace = killed_after_grace
        self.exit_code = 128 + int(signum)

    def one_line(self) -> str:
        if self.process_exit_code is None:
            return f"Training stopped by {self.signum.name} before the user process started"
        how = "killed after the grace period" if self.killed_after_grace else f"exit code {self.process_exit_code}"
        return f"Training stopped by {self.signum.name} (user process {how})"

    def failure_text(self) -> str:
        lines = ["TrainingStopped:", f"Signal {self.signum.name}"]
        if self.process_exit_code is not None:
            lines += [f"ExitCode {self.process_exit_code}", f'ErrorMessage "{self.error_output}"']
        if self.killed_after_grace:
            lines.append('ExtraInfo "Killed: the process did not exit within the stop grace period"')
        if self.command:
            lines.append(f'Command "{shlex.join(self.command)}"')
        return "\n".join(lines)


class JobResult(NamedTuple):
    state: JobState
    failure: JobFailure | None = None

    @property
    def exit_code(self) -> int:
        return self.failure.exit_code if self.failure is not None else 0


def failure_for(
    outcome: ProcessOutcome, command: Sequence[str], error_class: type[CalledProcessFailure]
) -> JobFailure | None:
    """The failure a finished process stands for, or None when it succeeded."""
    error_output = "\n".join(outcome.stderr_tail)
    if outcome.stop_signal is not None:
        return JobStopped(
            outcome.stop_signal,
            command=command,
            process_exit_code=outcome.exit_code,
            error_output=error_output,
            killed_after_grace=outcome.killed_after_grace,
        )
    if outcome.returncode == 0:
        return None
    return error_class(command, outcome.exit_code, error_output, extra_info=_extra_info(outcome))


def _extra_info(outcome: ProcessOutcome) -> str | None:
    killed_by = outcome.killed_by
    if killed_by == signal.SIGKILL or outcome.exit_code == 137:
        return "OutOfMemory: Process killed by SIGKILL (signal 9); the host may have run out of memory"
    if killed_by is not None:
        return f"Process killed by {killed_by.name} (signal {int(killed_by)})"
    return None
