"""One training job across the hosts of a `HostCluster`: a base dir per host and `train` on each."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from harness.hosts import SSH_PORT, HostCluster
from harness.jobs import JobDir, train_command


@dataclass
class HostRun:
    """How `train` ended on one host."""

    name: str
    returncode: int
    stdout: str
    stderr: str
    seconds: float


@dataclass
class ClusterJob:
    """The same job laid out on every host: the config files differ only in `current_host`."""

    cluster: HostCluster
    hyperparameters: Mapping[str, Any]
    jobs: dict[str, JobDir] = field(default_factory=dict)

    def __post_init__(self) -> None:
        names = [host.name for host in self.cluster.hosts]
        for host in self.cluster.hosts:
            job = JobDir.at(host.base)
            job.hyperparameters(self.hyperparameters)
            job.config_file(
                "resourceconfig.json",
                {"current_host": host.name, "hosts": names, "network_interface_name": "eth0"},
            )
            self.jobs[host.name] = job

    def each(self, action: Callable[[JobDir], object]) -> ClusterJob:
        """Apply `action` (copy a script, write a channel...) to every host's base dir."""
        for job in self.jobs.values():
            action(job)
        return self

    def environment(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """`train`'s environment: the shared base-dir path, and sshd and ssh set up for this run."""
        env = self.jobs["algo-1"].environment(extra=None)
        env.update(
            SAGEMAKER_BASE_DIR=str(self.cluster.base_dir),
            SM_SSHD_CONFIG=str(self.cluster.sshd_config),
            SM_SSH_PORT=str(SSH_PORT),
            OMPI_MCA_plm_rsh_agent=f"ssh -F {self.cluster.ssh_config}",
        )
        env.update(extra or {})
        return env

    def start(self, name: str, extra_env: Mapping[str, str] | None = None) -> subprocess.Popen[str]:
        return self.cluster.popen(
            name, train_command(), env=self.environment(extra_env), stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
        )

    def run(self, extra_env: Mapping[str, str] | None = None, *, timeout: float = 180,
            hosts: Sequence[str] | None = None) -> dict[str, HostRun]:
        """Start `train` on every host (workers first) and wait for all of them."""
        names = list(hosts or reversed(list(self.jobs)))
        started = time.monotonic()
        processes = {name: self.start(name, extra_env) for name in names}
        return {name: finish(name, process, started, timeout) for name, process in processes.items()}


def finish(name: str, process: subprocess.Popen[str], started: float, timeout: float) -> HostRun:
    remaining = max(1.0, timeout - (time.monotonic() - started))
    try:
        stdout, stderr = process.communicate(timeout=remaining)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, 9)
        try:
            stdout, stderr = process.communicate(timeout=10)
        except subprocess.TimeoutExpired:  # something outside its process group holds the pipes
            stdout, stderr = "", "(output unavailable: another process still holds train's pipes)"
        raise AssertionError(f"train on {name} did not finish in {timeout:.0f} s:\n{stdout}\n{stderr}") from None
    return HostRun(name, process.returncode, stdout, stderr, time.monotonic() - started)
