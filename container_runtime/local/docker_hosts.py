"""A local job's hosts as Docker containers of one image, the way SageMaker runs a training job.

Each host is a container named `<job>-algo-N`, with the hostname and network alias `algo-N`, on
a network of the job's own (so hosts resolve each other's names, and MPI jobs reach the other
hosts' sshd), and with the host's base dir mounted at /opt/ml. `docker run --rm` stays attached,
so its output is relayed like a local process's, and a SIGTERM to it reaches `train` (docker
forwards signals). The code dir the job names (`sagemaker_submit_directory`, a path on this
machine) is mounted read-only at the same path, so the runtime finds it where the config says.
Leaving the block removes every container that is left and the network, whatever happened.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType

from container_runtime.local.docker_cli import (
    CONTAINER_BASE_DIR,
    check_mountable,
    docker,
    docker_executable,
    environment_arguments,
)
from container_runtime.local.errors import LocalModeError
from container_runtime.local.layout import JobLayout

#: Every container and network of local mode carries it, so they can be found (`docker ps --filter`).
LABEL = "container-runtime.job"


class DockerHosts:
    """One container of `image` per host, on the job's own network."""

    def __init__(self, layout: JobLayout, hosts: Sequence[str], *, image: str,
                 environment_names: Sequence[str] = ()) -> None:
        self.layout = layout
        self.hosts = tuple(hosts)
        self.image = image
        self.environment_names = tuple(environment_names)
        self.job = layout.root.name
        self.network = f"{self.job}-network"
        self.description = f"Docker containers of {image}"
        self._network_made = False
        for host in self.hosts:
            check_mountable(layout.host_base(host))

    def __enter__(self) -> DockerHosts:
        docker("network", "create", "--label", f"{LABEL}={self.job}", self.network,
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

    def base_dir(self, host: str) -> Path:
        """The base dir as `train` on `host` sees it."""
        return CONTAINER_BASE_DIR

    def start(self, host: str, env: Mapping[str, str]) -> subprocess.Popen[bytes]:
        environment, client_environment = environment_arguments(env, self.environment_names)
        command = [
            docker_executable(), "run", "--rm", "--name", self.container(host), "--label", f"{LABEL}={self.job}",
            "--hostname", host, "--network", self.network, "--network-alias", host,
            "-v", f"{self.layout.host_base(host)}:{CONTAINER_BASE_DIR}",
            *self._code_mount(host), *environment, self.image, "train",
        ]
        return subprocess.Popen(command, env=client_environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)

    def _code_mount(self, host: str) -> list[str]:
        """`-v PATH:PATH:ro` for the local code `sagemaker_submit_directory` names, if it names one."""
        config = self.layout.host_base(host) / "input" / "config" / "hyperparameters.json"
        try:
            encoded = json.loads(config.read_text()).get("sagemaker_submit_directory")
            source = json.loads(encoded) if isinstance(encoded, str) else None
        except (OSError, ValueError):
            return []
        if not isinstance(source, str) or "://" in source or not Path(source).is_absolute():
            return []
        path = Path(source)
        if not path.exists():
            return []
        check_mountable(path)
        return ["-v", f"{path}:{path}:ro"]
