"""The `process` backend: `train` and `serve` as plain processes on this machine, one host only."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from container_runtime.local.backends.base import Backend, EndpointLaunch, HostLaunch, HostSet, RunningEndpoint
from container_runtime.local.backends.commands import endpoint_environment, host_environment, runtime_command
from container_runtime.local.errors import LocalModeError
from container_runtime.local.layout import JobLayout
from container_runtime.process import PIPE, ProcessGroup


class _ProcessHosts(HostSet):
    description = "this machine"

    def start(self, launch: HostLaunch) -> ProcessGroup:
        env = host_environment(launch.environment, launch.base)
        return ProcessGroup.start(runtime_command("train"), label=f"train on {launch.host}", output=PIPE, env=env)


class ProcessBackend(Backend):
    name = "process"

    def check(self, host_count: int, jobs_dir: Path | None = None) -> None:
        if host_count != 1:
            raise LocalModeError(
                f"instance count {host_count}: the process backend runs one host; use 'netns' (root) or 'docker'"
            )

    def hosts(self, layout: JobLayout, hosts: Sequence[str]) -> HostSet:
        self.check(len(hosts))
        return _ProcessHosts()

    def start_endpoint(self, launch: EndpointLaunch) -> RunningEndpoint:
        """serve in its own session (no terminal's hangup reaches it), its output appended to serve.log."""
        env = endpoint_environment(launch.environment, launch.directory, has_code=launch.has_code)
        handle = ProcessGroup.start(runtime_command("serve"), label=f"endpoint {launch.name}",
                                    output=launch.directory / "serve.log", cwd=launch.directory, env=env)
        return RunningEndpoint(handle)

    def endpoint_alive(self, pid: int, container: str) -> bool:
        return session_leader_alive(pid)

    def stop_endpoint(self, pid: int, container: str, grace_seconds: float, log_file: Path) -> None:
        if session_leader_alive(pid):
            # Workers orphaned by a killed master, or that outlive it, go with the group.
            ProcessGroup.watch(pid, label="serve", reap_zombie=True).stop(grace_seconds)

    def endpoint_failed(self, running: RunningEndpoint, grace_seconds: float, log_file: Path) -> None:
        running.handle.stop(grace_seconds)


def session_leader_alive(pid: int) -> bool:
    """Whether `pid` runs as the session leader serve was started as (not a zombie, not a reused pid)."""
    if not ProcessGroup.watch(pid, label="serve", reap_zombie=True).alive():
        return False
    try:
        return os.getsid(pid) == pid
    except ProcessLookupError:
        return False
    except OSError:
        return True
