"""Failures of a multi-host job that are about the hosts rather than the user's code."""

from __future__ import annotations

from container_runtime.errors import JobFailure


class ClusterError(JobFailure):
    """Another host could not be reached, left the job, or a host service could not start."""


class HostLeftError(ClusterError):
    """A worker disappeared while the job ran: its `train` ended or the network failed."""

    def __init__(self, host: str, detail: str, mpi_output: str = "") -> None:
        super().__init__(f"host {host} left the job while it ran ({detail}): the job was ended on every host")
        self.host = host
        self.mpi_output = mpi_output

    def failure_text(self) -> str:
        text = super().failure_text()
        return f"{text}\nmpirun's last output:\n{self.mpi_output}" if self.mpi_output else text


class MasterReportedFailure(ClusterError):
    """The master says the job failed (or was stopped); the worker ends with that verdict."""

    def __init__(self, master: str, reason: str, exit_code: int) -> None:
        super().__init__(f"the job failed on the master {master}: {reason}")
        self.master = master
        self.reason = reason
        self.exit_code = exit_code if 0 < exit_code < 256 else 1
