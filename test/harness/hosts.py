"""The multi-host test harness: local mode's namespace hosts (`container_runtime.local.backends.netns`)
plus what only tests need: an sshd on every host started by the harness itself, `ssh` into a host,
and raw `Popen` access to a host's processes (separate stdout and stderr, text mode)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from container_runtime.local.backends.netns import SSH_PORT, SUBNET, Host, can_make_hosts
from container_runtime.local.backends.netns import HostCluster as NamespaceHosts

__all__ = ["SSH_PORT", "SUBNET", "Host", "HostCluster", "can_make_hosts", "can_run_mpi_across_hosts"]


def can_run_mpi_across_hosts() -> str | None:
    """None when namespace hosts, sshd and Open MPI are all here; otherwise what is missing."""
    reason = can_make_hosts()
    if reason is not None:
        return reason
    if shutil.which("sshd") is None and not Path("/usr/sbin/sshd").exists():
        return "MPI across hosts needs sshd (apt-get install openssh-server)"
    if shutil.which("mpirun") is None:
        return "MPI across hosts needs Open MPI's mpirun (apt-get install openmpi-bin)"
    return None


@dataclass
class HostCluster(NamespaceHosts):
    """Namespace hosts for tests; with `start_sshd`, the harness runs an sshd on every host itself
    (the runtime's own sshd start-up is what most tests exercise, so they pass False)."""

    start_sshd: bool = True
    popens: list[subprocess.Popen[Any]] = field(default_factory=list)

    def __enter__(self) -> HostCluster:
        super().__enter__()
        if self.start_sshd:
            try:
                for host in self.hosts:
                    self._start_sshd(host)
            except BaseException:
                self.__exit__(None, None, None)
                raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        super().__exit__(exc_type, exc, traceback)  # ends every process in the hosts' namespaces
        for process in self.popens:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()

    def run(self, name: str, argv: Sequence[str], env: Mapping[str, str] | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.host(name).command(argv), env=dict(env or os.environ), capture_output=True,
                              text=True, timeout=timeout, check=False)

    def popen(self, name: str, argv: Sequence[str], env: Mapping[str, str] | None = None,
              **kwargs: Any) -> subprocess.Popen[Any]:
        """`argv` on host `name` in its own session, with the pipes and text mode `kwargs` ask for."""
        process: subprocess.Popen[Any] = subprocess.Popen(
            self.host(name).command(argv), env=dict(env or os.environ), start_new_session=True, **kwargs
        )
        self.popens.append(process)
        return process

    def ssh_command(self, target: str, argv: Sequence[str]) -> list[str]:
        return ["ssh", "-F", str(self.ssh_config), target, *argv]

    def _start_sshd(self, host: Host) -> None:
        sshd = shutil.which("sshd") or "/usr/sbin/sshd"
        Path("/run/sshd").mkdir(parents=True, exist_ok=True)
        log = self.ssh_config.parent / f"sshd-{host.name}.log"
        self.start(host.name, [sshd, "-D", "-f", str(self.sshd_config), "-E", str(log)], output=log)
        deadline = time.monotonic() + 20
        probe = [sys.executable, "-c", f"import socket; socket.create_connection(('{host.address}', {SSH_PORT}), 1)"]
        while self.run(host.name, probe, timeout=10).returncode:
            if time.monotonic() > deadline:
                raise RuntimeError(f"sshd on {host.name} did not listen: {log.read_text(errors='replace')}")
            time.sleep(0.1)
