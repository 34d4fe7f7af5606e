"""Where a local job's hosts run: plain processes for one host, namespace hosts for several.

Both give each host its own base dir and start the runtime's `train` there. Several hosts need
root (network namespaces, as the multi-host tests use); without it the error says so.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType

from container_runtime.local.errors import LocalModeError
from container_runtime.local.layout import JobLayout


def train_command() -> list[str]:
    """The runtime's `train` installed beside this interpreter, else its module."""
    script = Path(sys.executable).parent / "train"
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-m", "container_runtime.cli.train"]


def clean_environment(extra: Mapping[str, str]) -> dict[str, str]:
    """This process's environment without another job's SageMaker variables, plus `extra`."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("SM_", "SAGEMAKER_"))}
    env.update(extra)
    return env


class ProcessHosts:
    """One host: `train` runs as a child process with the host's base dir."""

    description = "this machine"

    def __init__(self, layout: JobLayout, hosts: Sequence[str]) -> None:
        if len(hosts) != 1:
            raise ValueError("ProcessHosts runs exactly one host")
        self.layout = layout
        self.hosts = tuple(hosts)

    def __enter__(self) -> ProcessHosts:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def base_dir(self, host: str) -> Path:
        """The base dir as `train` on `host` sees it."""
        return self.layout.host_base(host)

    def start(self, host: str, env: Mapping[str, str]) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            train_command(),
            env={**env, "SAGEMAKER_BASE_DIR": str(self.base_dir(host))},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )


class NamespaceHosts:
    """Several hosts on this machine: a network, UTS and mount namespace each (root only)."""

    description = "network-namespace hosts"

    def __init__(self, layout: JobLayout, hosts: Sequence[str]) -> None:
        from container_runtime.local.netns import HostCluster, can_make_hosts

        reason = can_make_hosts()
        if reason is not None:
            raise LocalModeError(f"{len(hosts)} hosts: {reason}; run as root, or use an instance count of 1")
        self.layout = layout
        self.hosts = tuple(hosts)
        self.cluster = HostCluster(len(hosts), layout.hosts_dir, start_sshd=False)

    def __enter__(self) -> NamespaceHosts:
        self.cluster.__enter__()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.cluster.__exit__(exc_type, exc, traceback)

    def base_dir(self, host: str) -> Path:
        return self.cluster.base_dir

    def start(self, host: str, env: Mapping[str, str]) -> subprocess.Popen[bytes]:
        from container_runtime.local.netns import SSH_PORT

        env = {
            **env,
            "SAGEMAKER_BASE_DIR": str(self.cluster.base_dir),
            "SM_SSHD_CONFIG": str(self.cluster.sshd_config),
            "SM_SSH_PORT": str(SSH_PORT),
            "OMPI_MCA_plm_rsh_agent": f"ssh -F {self.cluster.ssh_config}",
        }
        process: subprocess.Popen[bytes] = self.cluster.start(
            host, train_command(), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
        return process


def host_names(count: int) -> list[str]:
    return [f"algo-{index}" for index in range(1, count + 1)]
