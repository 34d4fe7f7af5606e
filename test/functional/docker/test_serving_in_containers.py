"""Serving from the framework images as SageMaker starts an endpoint: `docker run IMAGE serve`.

A model trained in the Chainer image is served by it and answers /ping and /invocations from the
host, on the container's address in a user-defined network and, with the port SageMaker picks
(SAGEMAKER_BIND_TO_PORT, the label's promise), on the host's network. `serve` is PID 1 there:
`docker stop` ends it at once with status 0, and orphans of the model code are reaped.
"""

from __future__ import annotations

import io
import shutil
import textwrap
import time
from pathlib import Path

import pytest

from harness.containers import (
    container_ip,
    http_request,
    logs,
    prepare_job,
    removed_afterwards,
    run_args,
    run_container,
    unique,
    user_network,
    wait_for_exit,
    wait_until_pinged,
)
from harness.docker_daemon import DockerDaemon
from harness.serving import free_port

np = pytest.importorskip("numpy")
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

REPO = Path(__file__).resolve().parents[3]
MNIST = REPO / "examples" / "chainer" / "mnist.py"

#: A model module whose model_fn leaves an orphan behind (a child that forks and exits at once):
#: the orphan's parent becomes PID 1, which must reap it.
ORPHAN_MAKER = textwrap.dedent("""
    import os
    import numpy as np

    def model_fn(model_dir):
        child = os.fork()
        if child == 0:
            if os.fork() == 0:
                os._exit(0)  # the orphan: exits while its parent is gone
            os._exit(0)
        os.waitpid(child, 0)
        return np.eye(3, dtype=np.float32)

    def predict_fn(data, model):
        return np.asarray(data, dtype=np.float32) @ model
""")
ZOMBIES = ("import os\nprint(sum(open(f'/proc/{p}/stat').read().rpartition(')')[2].split()[0] == 'Z' "
           "for p in os.listdir('/proc') if p.isdigit()))")


@pytest.fixture(scope="module")
def endpoint_dir(daemon: DockerDaemon, chainer_image: str, mnist_data: Path,
                 tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What an endpoint's /opt/ml holds: model/model.tar.gz from a training run in the image, code/mnist.py."""
    job = prepare_job(tmp_path_factory.mktemp("train") / "opt_ml", [MNIST], {"epochs": 2}, mnist_data)
    trained = run_container(daemon, chainer_image, ["train"], mounts={job.base: "/opt/ml"})
    assert trained.returncode == 0, trained.stderr[-3000:]
    endpoint = tmp_path_factory.mktemp("endpoint")
    (endpoint / "model").mkdir()
    shutil.copy(job.output / "model.tar.gz", endpoint / "model" / "model.tar.gz")
    (endpoint / "code").mkdir()
    shutil.copy(MNIST, endpoint / "code" / MNIST.name)
    return endpoint


def npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def test_serve_answers_ping_and_invocations_from_the_host_and_stops_at_once(
    daemon: DockerDaemon, chainer_image: str, endpoint_dir: Path, mnist_data: Path
) -> None:
    name = unique("serve")
    with user_network(daemon) as network, removed_afterwards(daemon, name):
        daemon.run(*run_args(chainer_image, ["serve"], mounts={endpoint_dir: "/opt/ml"}, network=network, name=name,
                             detach=True, remove=False,
                             env={"SAGEMAKER_PROGRAM": MNIST.name, "SAGEMAKER_MODEL_SERVER_WORKERS": "1"}))
        address = container_ip(daemon, name, network)
        wait_until_pinged(address, 8080, 120, daemon, name)
        with np.load(mnist_data / "test" / "test.npz") as test:
            images, labels = test["images"][:100], test["labels"][:100]
        status, body = http_request(address, 8080, "POST", "/invocations", npy(images),
                                    {"Content-Type": "application/x-npy", "Accept": "application/x-npy"})
        assert status == 200, body[:2000]
        scores = np.load(io.BytesIO(body), allow_pickle=False)
        assert scores.shape == (100, 10)
        assert (scores.argmax(axis=1) == labels).mean() >= 0.8
        status, body = http_request(address, 8080, "POST", "/invocations", b"[[1, 2", {"Content-Type": "application/json"})
        assert status == 400, body

        started = time.monotonic()
        daemon.run("stop", "--time", "20", name, timeout=60)
        stopped_in = time.monotonic() - started
        assert wait_for_exit(daemon, name, 30) == 0, logs(daemon, name)[-3000:]
    assert stopped_in < 10, f"docker stop took {stopped_in:.1f} s: serve as PID 1 ignored SIGTERM"


def test_serve_on_the_host_network_listens_where_sagemaker_binds_it_and_reaps_orphans(
    daemon: DockerDaemon, chainer_image: str, tmp_path: Path
) -> None:
    (tmp_path / "model").mkdir()
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "orphans.py").write_text(ORPHAN_MAKER)
    port = free_port()
    name = unique("serve-host")
    with removed_afterwards(daemon, name):
        daemon.run(*run_args(chainer_image, ["serve"], mounts={tmp_path: "/opt/ml"}, network="host", name=name,
                             detach=True, remove=False,
                             env={"SAGEMAKER_PROGRAM": "orphans.py", "SAGEMAKER_BIND_TO_PORT": str(port),
                                  "SAGEMAKER_MODEL_SERVER_WORKERS": "2", "SAGEMAKER_SERVING_FRAMEWORK": "numpy"}))
        wait_until_pinged("127.0.0.1", port, 120, daemon, name)
        status, body = http_request("127.0.0.1", port, "POST", "/invocations", b"[[1, 2, 3]]",
                                    {"Content-Type": "application/json", "Accept": "application/json"})
        assert (status, body.replace(b" ", b"")) == (200, b"[[1.0,2.0,3.0]]")
        time.sleep(1)  # the orphans have exited; PID 1 reaps them when SIGCHLD arrives
        zombies = daemon.run("exec", name, "python", "-c", ZOMBIES).stdout.strip()
        assert zombies == "0", logs(daemon, name)[-2000:]
        daemon.run("stop", "--time", "20", name, timeout=60)
        assert wait_for_exit(daemon, name, 30) == 0


def test_docker_stop_while_serve_installs_requirements_ends_it_at_once(
    daemon: DockerDaemon, chainer_image: str, tmp_path: Path
) -> None:
    """Before gunicorn runs there is no server to stop gracefully, but PID 1 must still obey SIGTERM."""
    package = tmp_path / "code" / "slow_install"
    package.mkdir(parents=True)
    (package / "setup.py").write_text("import time\nprint('building', flush=True)\ntime.sleep(300)\n")
    (tmp_path / "code" / "requirements.txt").write_text("/opt/ml/code/slow_install\n")
    (tmp_path / "code" / "inference.py").write_text("def model_fn(model_dir):\n    return None\n")
    (tmp_path / "model").mkdir()
    name = unique("serve-install")
    with removed_afterwards(daemon, name):
        # No build isolation: setup.py runs with the image's setuptools, offline (--network none).
        daemon.run(*run_args(chainer_image, ["serve"], mounts={tmp_path: "/opt/ml"}, name=name, detach=True,
                             remove=False, env={"PIP_NO_BUILD_ISOLATION": "0"}))
        deadline = time.monotonic() + 60
        while "Installing /opt/ml/code/requirements.txt" not in logs(daemon, name):
            assert time.monotonic() < deadline, logs(daemon, name)
            time.sleep(0.2)
        time.sleep(1)
        started = time.monotonic()
        daemon.run("stop", "--time", "20", name, timeout=60)
        stopped_in = time.monotonic() - started
        assert wait_for_exit(daemon, name, 30) == 143, logs(daemon, name)[-2000:]
    assert stopped_in < 10, f"docker stop took {stopped_in:.1f} s"
