"""The `docker` backend: hosts and endpoints as containers of one image, the way SageMaker runs them.

Training: each host is a container named `<job>-algo-N`, with the hostname and network alias
`algo-N`, on a network of the job's own (so hosts resolve each other's names, and MPI jobs reach
the other hosts' sshd), and with the host's base dir mounted at /opt/ml. `docker run --rm` stays
attached, so its output is relayed like a local process's, and a SIGTERM to it reaches `train`
(docker forwards signals). The job's local code dir is mounted read-only at the same path, so
the runtime finds it where the config says. Leaving the block removes every container that is
left and the network, whatever happened.

Endpoints: `docker run -d IMAGE serve` with the endpoint dir at /opt/ml, on the host's network
with SAGEMAKER_BIND_TO_PORT set to the endpoint's port (the images' accept-bind-to-port label).
The container's PID 1 (serve) is a session leader in this machine's process table, so the
record's pid is watched like a local serve's; stopping is `docker stop` (SIGTERM: in-flight
requests finish), after which serve's output is kept in serve.log and the container removed.
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from container_runtime.local.backends.base import Backend, EndpointLaunch, HostLaunch, HostSet, RunningEndpoint
from container_runtime.local.backends.commands import endpoint_environment, host_environment
from container_runtime.local.backends.docker_cli import (
    CONTAINER_BASE_DIR,
    TIMEOUT_SECONDS,
    check_image,
    check_mountable,
    docker,
    docker_executable,
    environment_arguments,
)
from container_runtime.local.backends.process import session_leader_alive
from container_runtime.local.errors import LocalModeError
from container_runtime.local.layout import JobLayout
from container_runtime.process import PIPE, ProcessGroup

#: Every container and network of a local job carries it, so they can be found (`docker ps --filter`).
JOB_LABEL = "container-runtime.job"
#: Every endpoint container carries it, naming its endpoint.
ENDPOINT_LABEL = "container-runtime.endpoint"


def endpoint_container(endpoint: str) -> str:
    return f"container-runtime-endpoint-{endpoint}"


class DockerHosts(HostSet):
    """One container of `image` per host, on the job's own network."""

    def __init__(self, layout: JobLayout, hosts: Sequence[str], image: str) -> None:
        self.layout = layout
        self.hosts = tuple(hosts)
        self.image = image
        self.job = layout.root.name
        self.network = f"{self.job}-network"
        self.description = f"Docker containers of {image}"
        self._network_made = False
        for host in self.hosts:
            check_mountable(layout.host_base(host))

    def __enter__(self) -> DockerHosts:
        docker("network", "create", "--label", f"{JOB_LABEL}={self.job}", self.network,
               what=f"creating the job's Docker network {self.network}")
        self._network_made = True
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        """Containers still there (a host killed after the stop grace) go first, then the network."""
        with contextlib.suppress(LocalModeError):
            docker("rm", "--force", *[self.container(host) for host in self.hosts])
        if self._network_made:
            with contextlib.suppress(LocalModeError):
                docker("network", "rm", self.network)

    def container(self, host: str) -> str:
        return f"{self.job}-{host}"

    def start(self, launch: HostLaunch) -> ProcessGroup:
        env = host_environment(launch.environment, CONTAINER_BASE_DIR)
        environment, client_environment = environment_arguments(env, launch.user_variables)
        command = [
            docker_executable(), "run", "--rm", "--name", self.container(launch.host),
            "--label", f"{JOB_LABEL}={self.job}", "--hostname", launch.host, "--network", self.network,
            "--network-alias", launch.host, "-v", f"{launch.base}:{CONTAINER_BASE_DIR}",
            *code_mount(launch.source_dir), *environment, self.image, "train",
        ]
        return ProcessGroup.start(command, label=f"container {self.container(launch.host)}", output=PIPE,
                                  env=client_environment)


def code_mount(source_dir: Path | None) -> list[str]:
    """`-v PATH:PATH:ro` for the job's local code dir, so the runtime finds it at the path its config names."""
    if source_dir is None or not source_dir.is_absolute() or not source_dir.exists():
        return []
    check_mountable(source_dir)
    return ["-v", f"{source_dir}:{source_dir}:ro"]


class DockerBackend(Backend):
    name = "docker"

    def __init__(self, image: str = "") -> None:
        self.image = image

    def check(self, host_count: int, jobs_dir: Path | None = None) -> None:
        if not self.image:
            raise LocalModeError("--backend docker needs --image (e.g. container-runtime/chainer:cpu)")
        check_image(self.image)

    def hosts(self, layout: JobLayout, hosts: Sequence[str]) -> HostSet:
        return DockerHosts(layout, hosts, self.image)

    def start_endpoint(self, launch: EndpointLaunch) -> RunningEndpoint:
        check_mountable(launch.directory)
        name = endpoint_container(launch.name)
        env = endpoint_environment(launch.environment, CONTAINER_BASE_DIR, has_code=launch.has_code)
        environment, client_environment = environment_arguments(env, launch.user_variables)
        docker("run", "--detach", "--name", name, "--label", f"{ENDPOINT_LABEL}={launch.name}", "--network", "host",
               "-v", f"{launch.directory}:{CONTAINER_BASE_DIR}", *environment, self.image, "serve",
               env=client_environment, what=f"starting endpoint {launch.name} in a container of {self.image}")
        pid = docker("inspect", "--format", "{{.State.Pid}}", name, what=f"endpoint {launch.name}").strip()
        # PID 1 of the container, as this machine sees it: watched, never reaped here (dockerd's child).
        return RunningEndpoint(ProcessGroup.watch(int(pid) if pid.isdigit() else 0, label=f"container {name}"), name)

    def endpoint_alive(self, pid: int, container: str) -> bool:
        return pid > 0 and session_leader_alive(pid)

    def stop_endpoint(self, pid: int, container: str, grace_seconds: float, log_file: Path) -> None:
        remove_container(container, grace_seconds, log_file)

    def endpoint_failed(self, running: RunningEndpoint, grace_seconds: float, log_file: Path) -> None:
        save_logs(running.container, log_file)
        remove_container(running.container, grace_seconds, None)


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
