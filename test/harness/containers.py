"""Running the framework images as a user would: `docker run` with /opt/ml mounted from the host.

Every container and network a test makes is named with a per-test suffix and removed when the
block ends, whatever happened, so one failing test never leaves another a name clash.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from harness.docker_daemon import DockerDaemon
from harness.jobs import JobDir


def unique(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(3)}"


def prepare_job(base: Path, scripts: Sequence[Path], hyperparameters: Mapping[str, Any],
                data: Path | None = None, resource_config: Mapping[str, Any] | None = None) -> JobDir:
    """A host's /opt/ml: the scripts in code/, each channel of `data`, the SDK-encoded hyperparameters."""
    job = JobDir.at(base)
    for script in scripts:
        shutil.copy(script, job.code / script.name)
    if data is not None:
        for channel in sorted(path for path in data.iterdir() if path.is_dir()):
            shutil.copytree(channel, job.channel(channel.name), dirs_exist_ok=True)
    job.hyperparameters({"sagemaker_program": scripts[0].name, **hyperparameters})
    if resource_config is not None:
        job.config_file("resourceconfig.json", dict(resource_config))
    return job


def run_args(
    image: str, command: Sequence[str], *, mounts: Mapping[Path, str] | None = None, network: str = "none",
    name: str | None = None, hostname: str | None = None, env: Mapping[str, str] | None = None,
    detach: bool = False, remove: bool = True, aliases: Sequence[str] = (),
) -> list[str]:
    """`docker run` arguments: a host dir per mount, the given network (none: no connectivity needed)."""
    args = ["run"]
    if detach:
        args.append("-d")
    if remove:
        args.append("--rm")
    if name:
        args += ["--name", name]
    if hostname:
        args += ["--hostname", hostname]
    args += ["--network", network]
    for alias in aliases:
        args += ["--network-alias", alias]
    for source, target in (mounts or {}).items():
        args += ["-v", f"{source}:{target}"]
    for key, value in (env or {}).items():
        args += ["-e", f"{key}={value}"]
    return [*args, image, *command]


def run_container(daemon: DockerDaemon, image: str, command: Sequence[str], *, timeout: float = 300,
                  **options: Any) -> subprocess.CompletedProcess[str]:
    """Run to the end, output captured; the container is removed afterwards."""
    return daemon.run(*run_args(image, command, **options), timeout=timeout, check=False)


@contextlib.contextmanager
def removed_afterwards(daemon: DockerDaemon, *names: str) -> Iterator[None]:
    """Whatever happens in the block, the named containers are gone after it."""
    try:
        yield
    finally:
        daemon.run("rm", "-f", *names, check=False, timeout=60)


@contextlib.contextmanager
def user_network(daemon: DockerDaemon, prefix: str = "crt") -> Iterator[str]:
    """A user-defined bridge network (DNS between containers by name), removed afterwards."""
    name = unique(prefix)
    daemon.run("network", "create", name)
    try:
        yield name
    finally:
        daemon.run("network", "rm", name, check=False, timeout=60)


def container_ip(daemon: DockerDaemon, container: str, network: str) -> str:
    result = daemon.run("inspect", "--format", "{{json .NetworkSettings.Networks}}", container)
    return str(json.loads(result.stdout)[network]["IPAddress"])


def wait_for_exit(daemon: DockerDaemon, container: str, timeout: float) -> int:
    return int(daemon.run("wait", container, timeout=timeout).stdout.strip())


def logs(daemon: DockerDaemon, container: str) -> str:
    result = daemon.run("logs", container, check=False)
    return result.stdout + result.stderr


def http_request(host: str, port: int, method: str, path: str, body: bytes | None = None,
                 headers: Mapping[str, str] | None = None, timeout: float = 30) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=dict(headers or {}))
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def wait_until_pinged(host: str, port: int, timeout: float, daemon: DockerDaemon, container: str) -> None:
    """Poll /ping until 200; fails with the container's log when it stops or never gets there."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if http_request(host, port, "GET", "/ping", timeout=5)[0] == 200:
                return
        except OSError:
            pass
        state = daemon.run("inspect", "--format", "{{.State.Running}}", container, check=False).stdout.strip()
        if state != "true":
            raise AssertionError(f"{container} stopped before /ping answered 200:\n{logs(daemon, container)[-3000:]}")
        time.sleep(0.3)
    raise AssertionError(f"/ping on {container} not 200 within {timeout} s:\n{logs(daemon, container)[-3000:]}")
