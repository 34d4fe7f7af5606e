"""The TensorFlow Keras example scripts, run unchanged through the real `train` on the diabetes data.

The data comes from examples/tensorflow/make_data.py (scikit-learn's bundled diabetes set, split
and normalised once per session). Each test checks what a SageMaker user relies on: the per-epoch
lines the public tuning regexes read, a validation loss well below predicting the mean, the
SavedModel under `SM_MODEL_DIR/1/` loaded back and called through its `serving_default`
signature, and checkpoints under a local `--model_dir`. The distributed scripts also run as small
clusters of local processes (two MultiWorkerMirroredStrategy workers; a parameter-server chief,
worker and two parameter servers).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from harness.example_data import make_example_data, mean_predictor_mse
from harness.jobs import JobDir

tf = pytest.importorskip("tensorflow")
pytest.importorskip("sklearn")
np = pytest.importorskip("numpy")

pytestmark = pytest.mark.slow

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "tensorflow"

#: The public Boston-housing tuning job's metric regexes.
LOSS_REGEX = r" loss: ([0-9\.]+)"
VAL_LOSS_REGEX = r" val_loss: ([0-9\.]+)"
TEST_MSE = re.compile(r"^Test MSE : ([0-9.e+-]+)$", re.MULTILINE)


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_example_data(EXAMPLES / "make_data.py", tmp_path_factory.mktemp("tensorflow-data")) / "regression"


@pytest.fixture(scope="session")
def baseline_mse(data_dir: Path) -> float:
    """What a useless model scores: the bar every example must beat."""
    return mean_predictor_mse(data_dir)


def prepare(job: JobDir, data: Path, program: str, hyperparameters: dict[str, object]) -> None:
    """Copy the examples into the code dir, the train and test channels into input/data."""
    for name in ("train.py", "model_def.py", program):
        shutil.copy(EXAMPLES / name, job.code / name)
    for channel in ("train", "test"):
        shutil.copytree(data / channel, job.channel(channel), dirs_exist_ok=True)
    job.hyperparameters({"sagemaker_program": program, **hyperparameters})


def run(job: JobDir, env: dict[str, str] | None = None) -> str:
    result = job.run(env, timeout=180)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert job.succeeded()
    return result.stdout


def metric(regex: str, stdout: str) -> list[float]:
    return [float(value) for value in re.findall(regex, stdout)]


def load_serving_default(export_dir: Path) -> tuple[object, object]:
    loaded = tf.saved_model.load(str(export_dir))
    return loaded, loaded.signatures["serving_default"]


def test_train_py_beats_the_mean_and_exports_a_servable_model(job: JobDir, data_dir: Path, baseline_mse: float) -> None:
    checkpoints = job.base / "checkpoints"  # a local --model_dir, as the SDK passes one
    prepare(
        job,
        data_dir,
        "train.py",
        {"epochs": 30, "batch_size": 32, "learning_rate": 0.05, "model_dir": str(checkpoints)},
    )
    stdout = run(job)

    assert "x train (354, 10) y train (354,)" in stdout
    assert "batch_size = 32, epochs = 30, learning rate = 0.05" in stdout
    losses, val_losses = metric(LOSS_REGEX, stdout), metric(VAL_LOSS_REGEX, stdout)
    assert len(losses) == len(val_losses) == 30, stdout
    assert val_losses[-1] < 0.75 * baseline_mse, (val_losses, baseline_mse)
    assert losses[-1] < losses[0]
    # One plain line per epoch: no progress-bar redraws for a regex to trip over.
    assert "\r" not in stdout and "\x1b[" not in stdout
    test_mse = TEST_MSE.search(stdout)
    assert test_mse is not None, stdout
    assert float(test_mse.group(1)) == pytest.approx(val_losses[-1], rel=1e-3)

    assert (checkpoints / "checkpoint").is_file()
    assert (checkpoints / "model.ckpt-30.index").is_file()

    export_dir = job.model / "1"
    assert (export_dir / "saved_model.pb").is_file()
    with tarfile.open(job.output / "model.tar.gz", "r:gz") as archive:
        assert "1/saved_model.pb" in {member.name.removeprefix("./") for member in archive}

    _, serve = load_serving_default(export_dir)
    x_test = np.load(data_dir / "test" / "x_test.npy")
    y_test = np.load(data_dir / "test" / "y_test.npy")
    assert list(serve.structured_input_signature[1]) == ["features"]
    outputs = serve(features=tf.constant(x_test))
    assert list(outputs) == ["output_0"]
    predictions = outputs["output_0"].numpy()
    assert predictions.shape == (len(x_test), 1)
    served_mse = float(np.mean((predictions[:, 0] - y_test) ** 2))
    assert served_mse == pytest.approx(float(test_mse.group(1)), rel=1e-3)


def test_multi_worker_script_trains_alone_without_tf_config(job: JobDir, data_dir: Path, baseline_mse: float) -> None:
    prepare(job, data_dir, "train_multi_worker.py", {"epochs": 15, "batch_size": 32, "learning_rate": 0.05})
    stdout = run(job)

    assert "task None:None of 1 worker(s), chief: True, replicas in sync: 1" in stdout
    val_losses = metric(VAL_LOSS_REGEX, stdout)
    assert len(metric(LOSS_REGEX, stdout)) == len(val_losses) == 15, stdout
    assert val_losses[-1] < 0.75 * baseline_mse
    assert TEST_MSE.search(stdout) is not None
    assert (job.model / "1" / "saved_model.pb").is_file()
    # --model_dir defaults to SM_MODEL_DIR, so the checkpoints land beside the SavedModel.
    assert (job.model / "model.ckpt-15.index").is_file()


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("localhost", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def test_multi_worker_script_with_two_workers_saves_from_the_chief_only(
    tmp_path: Path, data_dir: Path, baseline_mse: float
) -> None:
    """Two `train` jobs on this host, one TF_CONFIG cluster: both train the same model in step."""
    ports = free_ports(2)
    cluster = {"worker": [f"localhost:{port}" for port in ports]}
    jobs = [JobDir.create(tmp_path / f"host{index}") for index in range(2)]
    processes = []
    for index, job in enumerate(jobs):
        prepare(job, data_dir, "train_multi_worker.py", {"epochs": 8, "batch_size": 16, "learning_rate": 0.05})
        tf_config = {"cluster": cluster, "environment": "cloud", "task": {"index": index, "type": "worker"}}
        processes.append(job.start({"TF_CONFIG": json.dumps(tf_config)}))
    outputs = []
    try:
        for process in processes:
            stdout, stderr = process.communicate(timeout=150)
            assert process.returncode == 0, stdout[-3000:] + stderr[-3000:]
            outputs.append(stdout)
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()

    assert "task worker:0 of 2 worker(s), chief: True, replicas in sync: 2" in outputs[0]
    assert "task worker:1 of 2 worker(s), chief: False, replicas in sync: 2" in outputs[1]
    val_losses = [metric(VAL_LOSS_REGEX, stdout) for stdout in outputs]
    assert len(val_losses[0]) == 8 and val_losses[0] == val_losses[1]  # synchronous: the same model
    assert val_losses[0][-1] < 0.75 * baseline_mse
    assert (jobs[0].model / "1" / "saved_model.pb").is_file()
    assert not (jobs[1].model / "1").exists()


PS_SERVER = """
import json, os, sys
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import tensorflow as tf
cluster = tf.train.ClusterSpec(json.loads(os.environ["TF_CONFIG"])["cluster"])
tf.distribute.Server(cluster, job_name="ps", task_index=int(sys.argv[1]), protocol="grpc").join()
"""


def test_parameter_server_script_trains_with_sagemakers_master_layout(
    tmp_path: Path, data_dir: Path, baseline_mse: float
) -> None:
    """The SageMaker toolkit's TF_CONFIG (a `master` task), on local ports: two stand-in parameter
    servers as the runtime starts them, the script as worker and as master (the coordinator)."""
    master, ps0, ps1, worker = (f"localhost:{port}" for port in free_ports(4))
    cluster = {"master": [master], "ps": [ps0, ps1], "worker": [worker]}

    def env(task_type: str, index: int) -> dict[str, str]:
        tf_config = {"cluster": cluster, "environment": "cloud", "task": {"type": task_type, "index": index}}
        return {**os.environ, "TF_CONFIG": json.dumps(tf_config)}

    script = str(EXAMPLES / "train_parameter_server.py")
    out = tmp_path / "model"
    servers = [
        subprocess.Popen(
            [sys.executable, "-c", PS_SERVER, str(index)],
            env=env("ps", index),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for index in range(2)
    ]
    worker_process = subprocess.Popen(
        [sys.executable, script], env=env("worker", 0), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        chief = subprocess.run(
            [
                sys.executable,
                script,
                "--epochs",
                "8",
                "--batch_size",
                "32",
                "--learning_rate",
                "0.05",
                "--train",
                str(data_dir / "train"),
                "--test",
                str(data_dir / "test"),
                "--sm-model-dir",
                str(out),
                "--model_dir",
                str(tmp_path / "checkpoints"),
                "--unknown",
                "x",
            ],
            env=env("master", 0),
            capture_output=True,
            text=True,
            timeout=150,
            check=False,
        )
        assert chief.returncode == 0, chief.stdout[-3000:] + chief.stderr[-3000:]
        # The worker notices that the chief has gone and exits by itself.
        worker_stdout, _ = worker_process.communicate(timeout=30)
        assert worker_process.returncode == 0, worker_stdout[-3000:]
    finally:
        for process in [*servers, worker_process]:
            if process.poll() is None:
                process.kill()
                process.wait()

    assert "1 worker(s), 2 parameter server(s)" in chief.stdout
    assert "worker 0: the chief has finished" in worker_stdout
    val_losses = metric(VAL_LOSS_REGEX, chief.stdout)
    assert len(metric(LOSS_REGEX, chief.stdout)) == len(val_losses) == 8, chief.stdout
    assert val_losses[-1] < 0.75 * baseline_mse
    assert (tmp_path / "checkpoints" / "model.ckpt-8.index").is_file()
    _, serve = load_serving_default(out / "1")
    x_test = np.load(data_dir / "test" / "x_test.npy")
    assert serve(features=tf.constant(x_test))["output_0"].shape == (len(x_test), 1)


@pytest.fixture
def examples_importable(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Import example modules as siblings (they import `train` and `model_def`); forget them afterwards."""
    monkeypatch.syspath_prepend(str(EXAMPLES))
    before = set(sys.modules)
    yield
    for name in set(sys.modules) - before:
        if name in ("train", "model_def") or name.startswith("tf_example_"):
            del sys.modules[name]


def import_example(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"tf_example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.usefixtures("examples_importable")
def test_parameter_server_script_renames_master_to_chief() -> None:
    module = import_example("train_parameter_server")
    sagemaker = {
        "cluster": {"master": ["algo-1:2222"], "ps": ["algo-1:2223", "algo-2:2223"], "worker": ["algo-2:2222"]},
        "environment": "cloud",
        "task": {"type": "master", "index": 0},
    }
    assert module.to_tf2_config(sagemaker) == {
        "cluster": {"chief": ["algo-1:2222"], "ps": ["algo-1:2223", "algo-2:2223"], "worker": ["algo-2:2222"]},
        "environment": "cloud",
        "task": {"type": "chief", "index": 0},
    }
    assert sagemaker["task"]["type"] == "master"  # the input is left alone
    worker = {**sagemaker, "task": {"type": "worker", "index": 0}}
    assert module.to_tf2_config(worker)["task"] == {"type": "worker", "index": 0}


@pytest.mark.usefixtures("examples_importable")
@pytest.mark.parametrize(
    ("task_type", "task_id", "cluster", "expected"),
    [
        (None, None, {}, True),
        ("worker", 0, {"worker": ["a:1", "b:1"]}, True),
        ("worker", 1, {"worker": ["a:1", "b:1"]}, False),
        ("worker", 0, {"chief": ["a:1"], "worker": ["b:1"]}, False),
        ("chief", 0, {"chief": ["a:1"], "worker": ["b:1"]}, True),
        ("master", 0, {"master": ["a:1"], "worker": ["b:1"]}, True),
    ],
)
def test_multi_worker_script_picks_the_chief(
    task_type: str | None, task_id: int | None, cluster: dict[str, list[str]], expected: bool
) -> None:
    assert import_example("train_multi_worker").is_chief(task_type, task_id, cluster) is expected


@pytest.mark.usefixtures("examples_importable")
def test_multi_worker_script_refuses_a_host_name_that_does_not_resolve() -> None:
    """MultiWorkerMirroredStrategy would wait forever for it (and ignore SIGTERM)."""
    module = import_example("train_multi_worker")
    tf_config = {"cluster": {"worker": ["no-such-host.invalid:8890"]}, "task": {"type": "worker", "index": 0}}
    with pytest.raises(SystemExit, match="does not resolve"):
        module.check_own_address(tf_config)
    module.check_own_address({"cluster": {"worker": ["localhost:8890"]}, "task": {"type": "worker", "index": 0}})
    module.check_own_address({})
