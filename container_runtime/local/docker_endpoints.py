"""A local endpoint served by a Docker container: `docker run -d IMAGE serve`, as SageMaker starts one.

The endpoint dir is mounted at /opt/ml (model/, code/), and the container uses the host's network
with SAGEMAKER_BIND_TO_PORT set to the endpoint's port: the port SageMaker chooses through the
images' accept-bind-to-port label, and a network that works whatever the daemon's bridge setup.
The container's PID 1 (serve) is a session leader in this machine's process table, so the record's
pid is watched like a local serve's; stopping is `docker stop` (SIGTERM: in-flight requests finish),
after which serve's output is kept in serve.log and the container is removed.
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path

from container_runtime.local.docker_cli import (
    CONTAINER_BASE_DIR,
    TIMEOUT_SECONDS,
    check_mountable,
    docker,
    docker_executable,
    environment_arguments,
)
from container_runtime.local.errors import LocalModeError

#: Every endpoint container carries it, naming its endpoint (`docker ps --filter label=...`).
LABEL = "container-runtime.endpoint"


def container_name(endpoint: str) -> str:
    return f"container-runtime-endpoint-{endpoint}"


class ServeContainer:
    """A detached `serve` container, watched the way deploy watches a serve process (`pid`, `poll()`)."""

    def __init__(self, name: str, pid: int) -> None:
        self.name = name
        self.pid = pid

    @classmethod
    def start(cls, endpoint: str, image: str, directory: Path, env: Mapping[str, str],
              environment_names: Iterable[str]) -> ServeContainer:
        """Start serving `directory` (the endpoint dir); `env` holds serve's settings as the container sees them."""
        check_mountable(directory)
        name = container_name(endpoint)
        environment, client_environment = environment_arguments(env, environment_names)
        docker("run", "--detach", "--name", name, "--label", f"{LABEL}={endpoint}", "--network", "host",
               "-v", f"{directory}:{CONTAINER_BASE_DIR}", *environment, image, "serve",
               env=client_environment, what=f"starting endpoint {endpoint} in a container of {image}")
        container = cls(name, 0)
        pid = docker("inspect", "--format", "{{.State.Pid}}", name, what=f"endpoint {endpoint}").strip()
        container.pid = int(pid) if pid.isdigit() else 0
        return container

    def poll(self) -> int | None:
        """None while the container runs, else its exit code."""
        try:
            state = docker("inspect", "--format", "{{.State.Running}} {{.State.ExitCode}}", self.name).split()
        except LocalModeError:
            return 1  # removed: it is not serving
        return None if state[0] == "true" else int(state[1])


def remove_container(name: str, grace_seconds: float, log_file: Path | None) -> None:
    """`docker stop` (SIGTERM, SIGKILL after the grace), serve's output appended to `log_file`, then gone."""
    with contextlib.suppress(LocalModeError):
        docker("stop", "--time", str(max(1, round(grace_seconds))), name, timeout=grace_seconds + 60)
    if log_file is not None:
        save_logs(name, log_file)
    with contextlib.suppress(LocalModeError):
        docker("rm", "--force", name)


def save_logs(name: str, log_file: Path) -> None:
    """Append what the container printed (both streams) to `log_file`: serve.log, as local endpoints keep it."""
    with contextlib.suppress(LocalModeError, OSError, subprocess.TimeoutExpired), log_file.open("ab") as log:
        subprocess.run([docker_executable(), "logs", name], stdout=log, stderr=subprocess.STDOUT,
                       stdin=subprocess.DEVNULL, timeout=TIMEOUT_SECONDS, check=False)
