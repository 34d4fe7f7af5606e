"""Typed errors that end a training job.

Every error the runtime raises for a bad input or a failed step is a subclass of
`JobFailure`. It carries structured fields; `failure_text()` renders the text written to
`output/failure` and `one_line()` the single line logged for a person. Only the CLI maps
these to exit codes, so no code below it calls `sys.exit`.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence

# A line that states an error: "ValueError: boom", "ERROR: No matching distribution", "error: ...".
_ERROR_LINE = re.compile(r"^\s*([\w.]*(Error|Exception|Interrupt|Exit)\b|ERROR:|error:|Killed\b)")
# `mpirun --tag-output` prefixes each line with `[job,rank]<stream>:`.
_MPI_TAG = re.compile(r"^\[\d+,(\d+)\]<std(?:out|err)>:")
_DECORATION = re.compile(r"^[\W_]*$")


class JobFailure(Exception):
    """Base class of every failure the runtime reports in `output/failure`."""

    #: Container exit code; user errors are 1 as in the SageMaker contract.
    exit_code: int = 1

    def one_line(self) -> str:
        """The message on one line, for logs and terminals."""
        return " ".join(str(self).split("\n"))

    def failure_text(self) -> str:
        """The text of `output/failure`."""
        return f"{type(self).__name__}: {self.one_line()}"


class ConfigError(JobFailure):
    """A configuration file, variable or value is wrong; names where and what."""

    def __init__(self, source: str, message: str) -> None:
        super().__init__(f"{source}: {message}")
        self.source = source
        self.message = message


class UserCodeError(JobFailure):
    """The user's code cannot be fetched, unpacked or started."""


class UnsupportedArchiveError(UserCodeError):
    """`sagemaker_submit_directory` names a file we cannot unpack."""


class UnsafeArchiveError(UserCodeError):
    """An archive member would land outside the code dir or is a device, FIFO or bad link."""

    def __init__(self, archive: str, member: str, reason: str) -> None:
        super().__init__(f"{archive}: refusing member {member!r}: {reason}")
        self.archive = archive
        self.member = member
        self.reason = reason


class MissingDependencyError(JobFailure):
    """An optional dependency this job needs is not installed."""

    def __init__(self, module: str, extra: str, purpose: str) -> None:
        super().__init__(f"{purpose} needs the Python package {module!r}: pip install 'container-runtime[{extra}]'")
        self.module = module
        self.extra = extra


class CalledProcessFailure(JobFailure):
    """A child process (pip or the user's entry point) exited non-zero.

    Rendered in the SageMaker training toolkit's format so that tools parsing
    `FailureReason` keep working.
    """

    def __init__(
        self,
        command: Sequence[str],
        exit_code: int,
        error_output: str = "",
        extra_info: str | None = None,
    ) -> None:
        super().__init__(f"command exited with code {exit_code}: {shlex.join(command)}")
        self.command = tuple(command)
        self.process_exit_code = exit_code
        self.error_output = error_output
        self.extra_info = extra_info

    def one_line(self) -> str:
        summary = _summary_line(self.error_output)
        detail = f": {summary}" if summary else ""
        extra = f" ({self.extra_info})" if self.extra_info else ""
        return f"{type(self).__name__}: exit code {self.process_exit_code}{extra}{detail}"

    def failure_text(self) -> str:
        lines = [
            f"{type(self).__name__}:",
            f"ExitCode {self.process_exit_code}",
            f'ErrorMessage "{self.error_output}"',
        ]
        if self.extra_info:
            lines.append(f'ExtraInfo "{self.extra_info}"')
        lines.append(f'Command "{shlex.join(self.command)}"')
        return "\n".join(lines)


def _summary_line(output: str) -> str:
    """The last line that states an error, else the last meaningful one; MPI ranks labelled."""
    candidates: list[tuple[str, str]] = []
    for raw in output.splitlines():
        tagged = _MPI_TAG.match(raw)
        text = raw[tagged.end() :].strip() if tagged else raw.strip()
        if not _DECORATION.match(text):
            candidates.append((text, f"rank {tagged.group(1)}: {text}" if tagged else text))
    stated = [label for text, label in candidates if _ERROR_LINE.match(text)]
    chosen = stated or [label for _, label in candidates]
    return chosen[-1] if chosen else ""


class InstallRequirementsError(CalledProcessFailure):
    """`pip install -r requirements.txt` failed."""


class InstallModuleError(CalledProcessFailure):
    """`pip install .` of the user's package failed."""


class ExecuteUserScriptError(CalledProcessFailure):
    """The user's entry point exited non-zero or could not be started."""
