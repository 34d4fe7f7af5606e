"""Local mode's Docker backend: `container-runtime run|deploy --backend docker --image IMAGE` and
`Estimator(..., backend="docker", image=...)` run the job's hosts and the endpoint in containers
of the framework images, with the same records, logs, artifacts and predictions as the local
backend, and leave no container or network behind.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from container_runtime.local.endpoints import free_port, list_endpoints, stop_endpoint
from harness.docker_daemon import DockerDaemon
from harness.example_data import mean_predictor_mse
from harness.local_cli import cli, cli_command

np = pytest.importorskip("numpy")
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


@pytest.fixture
def home(tmp_path: Path, daemon: DockerDaemon, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A local-mode home; the API in this process talks to the suite's daemon; no endpoint outlives the test."""
    monkeypatch.setenv("DOCKER_HOST", daemon.host)
    yield tmp_path
    for record in list_endpoints(tmp_path / "endpoints"):
        stop_endpoint(record.name, tmp_path / "endpoints")


def leftovers(daemon: DockerDaemon, label: str) -> list[str]:
    containers = daemon.run("ps", "-a", "--filter", f"label={label}", "--format", "{{.Names}}").stdout.split()
    networks = daemon.run("network", "ls", "--filter", f"label={label}", "--format", "{{.Name}}").stdout.split()
    return containers + networks


def test_cli_trains_deploys_predicts_and_stops_in_containers(
    daemon: DockerDaemon, chainer_image: str, mnist_data: Path, home: Path, tmp_path: Path
) -> None:
    docker_env = {"DOCKER_HOST": daemon.host}
    trained = cli(home, "run", "mnist.py", "--source-dir", str(EXAMPLES / "chainer"), "--framework", "chainer",
                  "-H", "epochs=2", "-c", f"train={mnist_data / 'train'}", "-c", f"test={mnist_data / 'test'}",
                  "--job-name", "digits", "--backend", "docker", "--image", chainer_image, env=docker_env)
    assert trained.returncode == 0, trained.stdout[-3000:] + trained.stderr
    assert f"on Docker containers of {chainer_image}" in trained.stdout
    assert "algo-1 | " in trained.stdout and "Training succeeded" in trained.stdout
    record = json.loads((home / "jobs" / "digits" / "describe.json").read_text())
    assert record["TrainingJobStatus"] == "Completed"
    assert Path(record["ModelArtifacts"]["S3ModelArtifacts"]).is_file()
    assert (home / "jobs" / "digits" / "hosts" / "algo-1" / "model" / "model.npz").is_file()
    assert leftovers(daemon, "container-runtime.job=digits") == []

    port = free_port()
    deployed = cli(home, "deploy", "digits", "--port", str(port), "--name", "digits-endpoint", "--backend", "docker",
                   "--image", chainer_image, env=docker_env)
    assert deployed.returncode == 0, deployed.stderr
    assert f"at http://127.0.0.1:{port} (container container-runtime-endpoint-digits-endpoint)" in deployed.stdout
    assert "digits-endpoint" in cli(home, "endpoints", env=docker_env).stdout
    with np.load(mnist_data / "test" / "test.npz") as test:
        images = test["images"][:3]
    np.save(tmp_path / "digits.npy", images)
    predicted = cli(home, "predict", "digits-endpoint", "--data", str(tmp_path / "digits.npy"), env=docker_env)
    assert predicted.returncode == 0, predicted.stderr
    assert np.asarray(json.loads(predicted.stdout)).shape == (3, 10)

    stopped = cli(home, "stop", "digits-endpoint", env=docker_env)
    assert stopped.returncode == 0, stopped.stderr
    assert cli(home, "endpoints", env=docker_env).stdout.strip() == "no endpoints running"
    assert leftovers(daemon, "container-runtime.endpoint=digits-endpoint") == []
    assert "Serving" in (home / "endpoints" / "digits-endpoint" / "serve.log").read_text()  # serve's output is kept


def test_bad_backend_input_is_one_line_and_creates_nothing(daemon: DockerDaemon, home: Path) -> None:
    script = str(EXAMPLES / "chainer" / "mnist.py")
    cases = {
        ("--backend", "docker"): "error: --backend docker needs --image",
        ("--image", "container-runtime/chainer:cpu"): "error: image 'container-runtime/chainer:cpu' applies only to --backend docker",
        ("--backend", "kubernetes"): "error: backend 'kubernetes': choose local, process, netns, docker or slurm",
        ("--backend", "docker", "--image", "no-such/image:1"): "error: image 'no-such/image:1' is not on this Docker daemon",
        ("--backend", "docker", "--image", "Bad Image"): "error: image 'Bad Image': not a Docker image reference",
    }
    for arguments, message in cases.items():
        result = cli(home, "run", script, *arguments, env={"DOCKER_HOST": daemon.host})
        assert result.returncode == 2, (arguments, result.stderr)
        assert result.stderr.startswith(message) and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not (home / "jobs").exists() or not any((home / "jobs").iterdir())


def test_api_runs_a_tensorflow_job_and_endpoint_in_containers(
    daemon: DockerDaemon, tensorflow_image: str, regression_data: Path, home: Path
) -> None:
    from container_runtime.local import TensorFlow

    estimator = TensorFlow(
        "train.py", source_dir=EXAMPLES / "tensorflow",
        hyperparameters={"epochs": 15, "batch_size": 32, "learning_rate": 0.05},
        metric_definitions=[{"Name": "val_loss", "Regex": r" val_loss: ([0-9\.]+)"}],
        jobs_dir=home / "jobs", endpoints_dir=home / "endpoints", console=None,
        backend="docker", image=tensorflow_image,
    )
    job = estimator.fit({"train": regression_data / "train", "test": regression_data / "test"})
    final = {point["MetricName"]: point["Value"] for point in job.description["FinalMetricDataList"]}
    assert final["val_loss"] < 0.75 * mean_predictor_mse(regression_data)
    x_test = np.load(regression_data / "test" / "x_test.npy")
    with estimator.deploy(port=free_port()) as predictor:
        [record] = list_endpoints(home / "endpoints")
        assert record.container == f"container-runtime-endpoint-{predictor.endpoint_name}"
        answer = predictor.predict({"instances": x_test[:5].tolist()})
        assert len(answer["predictions"]) == 5
    assert list_endpoints(home / "endpoints") == []
    assert leftovers(daemon, f"container-runtime.endpoint={record.name}") == []


def test_api_runs_a_two_host_chainermn_job_in_containers(
    daemon: DockerDaemon, chainer_image: str, mnist_data: Path, home: Path
) -> None:
    from container_runtime.local import Chainer

    estimator = Chainer("mnist_chainermn.py", source_dir=EXAMPLES / "chainer", instance_count=2,
                        hyperparameters={"epochs": 2, "communicator": "naive"}, jobs_dir=home / "jobs",
                        endpoints_dir=home / "endpoints", console=None, backend="docker", image=chainer_image)
    job = estimator.fit({"train": mnist_data / "train", "test": mnist_data / "test"}, job_name="mn")
    assert job.status == "Completed"
    master_log = (home / "jobs" / "mn" / "logs" / "algo-1.log").read_text()
    assert "Running 2 MPI processes (1 per host on 2 hosts)" in master_log
    assert "Worker algo-2 is ready" in (home / "jobs" / "mn" / "logs" / "algo-2.log").read_text()
    assert leftovers(daemon, "container-runtime.job=mn") == []


def test_the_estimator_refuses_an_image_without_the_docker_backend() -> None:
    from container_runtime.local import Chainer
    from container_runtime.local.errors import LocalModeError

    with pytest.raises(LocalModeError, match="^image 'container-runtime/chainer:cpu' applies only to --backend docker$"):
        Chainer("mnist.py", image="container-runtime/chainer:cpu")


def test_stopping_a_docker_backed_job_reaches_the_script_and_records_stopped(
    daemon: DockerDaemon, chainer_image: str, home: Path
) -> None:
    script = Path(__file__).resolve().parents[3] / "test" / "scripts" / "checkpoint_on_sigterm.py"
    command = cli_command()
    process = subprocess.Popen(
        [*command, "--home", str(home), "run", str(script),
         "--job-name", "stop-me", "--backend", "docker", "--image", chainer_image],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=daemon.environment,
    )
    assert process.stdout is not None
    deadline = time.monotonic() + 120
    for line in process.stdout:
        if line.rstrip().endswith("| training") or time.monotonic() > deadline:
            break
    process.send_signal(signal.SIGINT)  # Ctrl-C
    output = line + process.communicate(timeout=120)[0]
    assert process.returncode == 130, output
    assert "checkpoint written" in output
    record = json.loads((home / "jobs" / "stop-me" / "describe.json").read_text())
    assert record["TrainingJobStatus"] == "Stopped"
    assert (home / "jobs" / "stop-me" / "hosts" / "algo-1" / "checkpoints" / "checkpoint.txt").is_file()
    assert leftovers(daemon, "container-runtime.job=stop-me") == []
