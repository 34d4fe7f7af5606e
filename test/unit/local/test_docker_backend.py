"""Local mode's Docker backend without a daemon: what is refused, what a container receives, and the
exact `docker run` a job host gets (test/functional/docker runs them for real)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from container_runtime.local.backends import check_backend
from container_runtime.local.backends.base import HostLaunch
from container_runtime.local.backends.docker import DockerHosts
from container_runtime.local.backends.docker_cli import (
    IMAGE_REFERENCE,
    check_image,
    check_mountable,
    environment_arguments,
)
from container_runtime.local.endpoints import EndpointRecord
from container_runtime.local.errors import LocalModeError
from container_runtime.local.layout import JobLayout


@pytest.mark.parametrize(
    ("backend", "image", "message"),
    [
        ("docker", None, "--backend docker needs --image (e.g. container-runtime/chainer:cpu)"),
        ("local", "img:1", "image 'img:1' applies only to --backend docker"),
        ("podman", None, "backend 'podman': choose local, process, netns, docker or slurm"),
    ],
)
def test_backend_and_image_must_go_together(backend: str, image: str | None, message: str) -> None:
    with pytest.raises(LocalModeError) as caught:
        check_backend(backend, image)
    assert str(caught.value) == message


def test_a_valid_backend_passes() -> None:
    check_backend("local", None)
    check_backend("docker", "container-runtime/chainer:cpu")


@pytest.mark.parametrize("image", ["container-runtime/chainer:cpu", "python:3.11-slim-bookworm",
                                   "registry.example.com:5000/team/img:v1.2", "img@sha256:" + "a" * 64, "ubuntu"])
def test_image_references_are_recognised(image: str) -> None:
    assert IMAGE_REFERENCE.match(image)


@pytest.mark.parametrize("image", ["Bad Image", "UPPER/case", "img:tag:again", "--rm", ""])
def test_malformed_image_references_are_refused_before_docker_is_asked(image: str) -> None:
    with pytest.raises(LocalModeError, match="not a Docker image reference"):
        check_image(image)


def test_paths_docker_cannot_mount_are_refused() -> None:
    with pytest.raises(LocalModeError, match="contains ':' or ','"):
        check_mountable(Path("/data/a:b"))
    check_mountable(Path("/data/plain dir"))


def test_containers_get_sagemaker_variables_the_users_and_credentials_but_never_values_on_the_command_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HOME", "/root")
    env = {
        "HOME": "/root", "PATH": "/usr/bin", "SAGEMAKER_TRAINING_MODULE": "container_runtime_chainer.training:run",
        "SM_HOST_WAIT_SECONDS": "60", "MY_SETTING": "x y", "AWS_SECRET_ACCESS_KEY": "s3cr3t",
        "DOCKER_CONFIG": "/etc/docker-as-env",
    }
    arguments, client = environment_arguments(env, explicit=["MY_SETTING", "DOCKER_CONFIG"])
    assert arguments == ["-e", "AWS_SECRET_ACCESS_KEY", "-e", "DOCKER_CONFIG=/etc/docker-as-env", "-e", "MY_SETTING",
                         "-e", "SAGEMAKER_TRAINING_MODULE", "-e", "SM_HOST_WAIT_SECONDS"]
    assert "s3cr3t" not in " ".join(arguments)
    assert client["AWS_SECRET_ACCESS_KEY"] == "s3cr3t" and client["MY_SETTING"] == "x y"
    assert client.get("DOCKER_CONFIG") != "/etc/docker-as-env"  # the client keeps its own settings


def test_old_endpoint_records_without_a_container_still_read() -> None:
    record = {"name": "e", "url": "http://127.0.0.1:8080", "port": 8080, "pid": 42, "model_data": "m.tar.gz",
              "framework": "chainer", "started": "2026-11-22T00:00:00Z", "directory": "/tmp/e"}
    assert EndpointRecord.from_json(json.dumps(record)).container == ""
    assert EndpointRecord.from_json(json.dumps({**record, "container": "c"})).container == "c"
    with pytest.raises(ValueError, match="missing pid"):
        EndpointRecord.from_json(json.dumps({key: value for key, value in record.items() if key != "pid"}))


def test_a_job_host_is_a_named_container_on_the_jobs_network_with_its_base_dir_and_code_mounted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = tmp_path / "source"
    code.mkdir()
    layout = JobLayout.create(tmp_path / "jobs" / "job-1", ["algo-1", "algo-2"])
    started: list[dict[str, Any]] = []

    def fake_popen(command: list[str], **options: Any) -> Any:
        started.append({"command": command, **options})
        return SimpleNamespace(pid=12345, stdout=None)

    monkeypatch.setattr(subprocess, "Popen", fake_popen)
    monkeypatch.setattr("container_runtime.local.backends.docker.docker_executable", lambda: "/usr/bin/docker")
    hosts = DockerHosts(layout, ["algo-1", "algo-2"], image="container-runtime/chainer:cpu")
    # The code dir comes from the job spec, passed forward: nothing is read back from the config files.
    hosts.start(HostLaunch("algo-2", layout.host_base("algo-2"), {"SM_STOP_GRACE_SECONDS": "5", "PATH": "/usr/bin"},
                           source_dir=code))
    [call] = started
    assert call["command"] == [
        "/usr/bin/docker", "run", "--rm", "--name", "job-1-algo-2", "--label", "container-runtime.job=job-1",
        "--hostname", "algo-2", "--network", "job-1-network", "--network-alias", "algo-2",
        "-v", f"{layout.host_base('algo-2')}:/opt/ml", "-v", f"{code}:{code}:ro",
        "-e", "SAGEMAKER_BASE_DIR", "-e", "SM_STOP_GRACE_SECONDS", "container-runtime/chainer:cpu", "train",
    ]
    assert call["env"]["SM_STOP_GRACE_SECONDS"] == "5"
    assert call["start_new_session"] is True and call["stdout"] == subprocess.PIPE
    assert call["env"]["SAGEMAKER_BASE_DIR"] == "/opt/ml"  # the base dir where the container sees it
    assert hosts.description == "Docker containers of container-runtime/chainer:cpu"
