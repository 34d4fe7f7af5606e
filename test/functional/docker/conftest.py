"""The container suite's session: a Docker daemon, the Debian base images, the framework images.

Everything here is made once per session and only when a test asks for it: the daemon (the
running one, else one started and stopped here), the base images (cached between runs, see
support.base_image), the four framework images built from dockerfiles/ (the CPU ones on Debian
with python3; the GPU ones, whose CUDA base no registry here serves, on Debian without Python),
and the examples' small data sets. Tests that need a daemon are skipped, with the reason, when
this is not root or docker, dockerd or debootstrap is missing.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.base_image import DEBIAN_BARE, ensure_base_image
from support.docker_daemon import DockerDaemon, docker_daemon, missing_tools
from support.example_data import make_example_data
from support.framework_images import build_image, build_seconds

REPO = Path(__file__).resolve().parents[3]
EXAMPLES = REPO / "examples"
#: What the session spent where, shown in pytest's summary (the suite has a CI time budget).
timings: dict[str, float] = {}


def skip_reason() -> str | None:
    if os.geteuid() != 0:
        return "the container suite needs root: it starts dockerd and debootstraps a base image"
    missing = missing_tools()
    if missing:
        return f"the container suite needs {', '.join(missing)}: apt-get install docker.io iptables debootstrap"
    return None


@pytest.fixture(scope="session")
def daemon() -> Iterator[DockerDaemon]:
    reason = skip_reason()
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
def chainer_gpu_image(daemon: DockerDaemon, bare_base_image: str, build_logs: Path) -> str:
    return build_image(daemon, "chainer-gpu", bare_base_image, build_logs)


@pytest.fixture(scope="session")
def tensorflow_gpu_image(daemon: DockerDaemon, bare_base_image: str, build_logs: Path) -> str:
    return build_image(daemon, "tensorflow-gpu", bare_base_image, build_logs)


@pytest.fixture(scope="session")
def mnist_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Chainer examples' MNIST-shaped digits: channels `train` and `test`."""
    pytest.importorskip("sklearn")
    out = tmp_path_factory.mktemp("chainer-data")
    make_example_data(EXAMPLES / "chainer" / "make_data.py", out, "--only", "mnist")
    return out / "mnist"


@pytest.fixture(scope="session")
def regression_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The TensorFlow examples' diabetes regression data: channels `train` and `test`."""
    pytest.importorskip("sklearn")
    out = tmp_path_factory.mktemp("tensorflow-data")
    return make_example_data(EXAMPLES / "tensorflow" / "make_data.py", out) / "regression"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    spent = {**timings, **{f"build {name}": seconds for name, seconds in build_seconds.items()}}
    if spent:
        terminalreporter.write_line(
            "container suite: " + ", ".join(f"{what} {seconds:.0f} s" for what, seconds in spent.items())
        )
