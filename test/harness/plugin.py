"""The test harness as a pytest plugin: the infrastructure tests start and stop themselves.

Registered by test/conftest.py (`pytest_plugins`). Every fixture is made only when a test asks
for it, and skips that test (saying why) when this machine cannot provide it. What each one
starts, needs and cleans up is in test/harness/README.md.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

from harness.base_image import DEBIAN_BARE, ensure_base_image
from harness.docker_daemon import DockerDaemon, docker_daemon, missing_tools
from harness.framework_images import build_image, build_seconds
from harness.hosts import HostCluster, can_make_hosts
from harness.postgres import PostgresServer, can_run_postgres, running_postgres
from harness.s3_server import S3Server, running_s3_server
from harness.sdk_venvs import compose_skip_reason, ensure_sdk_venv
from harness.slurm import SlurmCluster, can_run_slurm, running_slurm

#: What the session spent where, shown in pytest's summary (the suite has a CI time budget).
timings: dict[str, float] = {}


def docker_skip_reason() -> str | None:
    if os.geteuid() != 0:
        return "the container suite needs root: it starts dockerd and debootstraps a base image"
    missing = missing_tools()
    if missing:
        return f"the container suite needs {', '.join(missing)}: apt-get install docker.io iptables debootstrap"
    return None


@pytest.fixture(scope="session")
def daemon() -> Iterator[DockerDaemon]:
    reason = docker_skip_reason()
    if reason is not None:
        pytest.skip(reason)
    started = time.monotonic()
    with docker_daemon() as running:
        timings["daemon start"] = time.monotonic() - started
        yield running


@pytest.fixture(scope="session")
def base_image(daemon: DockerDaemon) -> str:
    started = time.monotonic()
    name = ensure_base_image(daemon)
    timings["base image (debootstrap or cache)"] = time.monotonic() - started
    return name


@pytest.fixture(scope="session")
def bare_base_image(daemon: DockerDaemon) -> str:
    """Debian without Python: the stand-in for the CUDA runtime images, which no registry here serves."""
    started = time.monotonic()
    name = ensure_base_image(daemon, DEBIAN_BARE)
    timings["bare base image (debootstrap or cache)"] = time.monotonic() - started
    return name


@pytest.fixture(scope="session")
def build_logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("image-builds")


@pytest.fixture(scope="session")
def chainer_image(daemon: DockerDaemon, base_image: str, build_logs: Path) -> str:
    return build_image(daemon, "chainer-cpu", base_image, build_logs)


@pytest.fixture(scope="session")
def tensorflow_image(daemon: DockerDaemon, base_image: str, build_logs: Path) -> str:
    return build_image(daemon, "tensorflow-cpu", base_image, build_logs)


@pytest.fixture(scope="session")
def gpu_image_builds(daemon: DockerDaemon, bare_base_image: str, build_logs: Path) -> Iterator[dict[str, Future[str]]]:
    """Both GPU variants, built side by side as soon as either is asked for: their builds mostly
    wait on downloads (the CUDA wheels), so together they take little more than the longer one
    (cold, on CI's kind of machine: 364 s one after the other)."""
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="gpu-image-build") as pool:
        yield {
            name: pool.submit(build_image, daemon, name, bare_base_image, build_logs)
            for name in ("chainer-gpu", "tensorflow-gpu")
        }


@pytest.fixture(scope="session")
def chainer_gpu_image(gpu_image_builds: dict[str, Future[str]]) -> str:
    return gpu_image_builds["chainer-gpu"].result()


@pytest.fixture(scope="session")
def tensorflow_gpu_image(gpu_image_builds: dict[str, Future[str]]) -> str:
    return gpu_image_builds["tensorflow-gpu"].result()


@pytest.fixture(scope="session")
def sdk_v2_python() -> Path:
    """The python of a venv holding SageMaker SDK v2 (requirements/sdk-v2.txt), for its local mode."""
    reason = compose_skip_reason()
    if reason is not None:
        pytest.skip(reason)
    started = time.monotonic()
    python = ensure_sdk_venv("v2")
    timings["SDK v2 venv (install or cache)"] = time.monotonic() - started
    return python


@pytest.fixture(scope="session")
def sdk_v3_python() -> Path:
    """The python of a venv holding SageMaker SDK v3's `sagemaker-train` (requirements/sdk-v3.txt)."""
    reason = compose_skip_reason()
    if reason is not None:
        pytest.skip(reason)
    started = time.monotonic()
    python = ensure_sdk_venv("v3")
    timings["SDK v3 venv (install or cache)"] = time.monotonic() - started
    return python


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """A real S3-compatible server (moto's) on loopback for the whole session."""
    with running_s3_server() as server:
        yield server


@pytest.fixture
def postgres(tmp_path: Path) -> Iterator[PostgresServer]:
    """A PostgreSQL server of this test's own, removed afterwards."""
    reason = can_run_postgres()
    if reason is not None:
        pytest.skip(reason)
    with running_postgres(tmp_path) as server:
        yield server


@pytest.fixture
def namespace_hosts(tmp_path: Path) -> Iterator[HostCluster]:
    """Two namespace hosts (algo-1, algo-2) without a harness sshd; torn down afterwards."""
    reason = can_make_hosts()
    if reason is not None:
        pytest.skip(reason)
    with HostCluster(2, tmp_path, start_sshd=False) as hosts:
        yield hosts


@pytest.fixture
def slurm_cluster(tmp_path: Path) -> Iterator[SlurmCluster]:
    """A Slurm cluster on two namespace hosts: slurmctld on algo-1, a slurmd on algo-1 and algo-2."""
    reason = can_run_slurm()
    if reason is not None:
        pytest.skip(reason)
    with HostCluster(2, tmp_path, start_sshd=False) as hosts, running_slurm(hosts, tmp_path) as slurm:
        yield slurm


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    spent = {**timings, **{f"build {name}": seconds for name, seconds in build_seconds.items()}}
    if spent:
        terminalreporter.write_line(
            "container suite: " + ", ".join(f"{what} {seconds:.0f} s" for what, seconds in spent.items())
        )
