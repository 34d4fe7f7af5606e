"""Training in the framework images as SageMaker runs it: `docker run IMAGE train` with /opt/ml
mounted from the host. The examples train on the small generated data sets and leave their
artifacts on the host; a failing script leaves the failure file and the exit status; `docker
stop` reaches the script's SIGTERM handler through the runtime running as PID 1.
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import tarfile
import time
from pathlib import Path

import pytest

from harness.containers import logs, prepare_job, removed_afterwards, run_args, run_container, unique, wait_for_exit
from harness.docker_daemon import DockerDaemon
from harness.example_data import mean_predictor_mse
from harness.jobs import JobDir

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

REPO = Path(__file__).resolve().parents[3]
EXAMPLES = REPO / "examples"
SCRIPTS = REPO / "test" / "scripts"
#: One Chainer PrintReport row: ESC[J, epoch, main/loss, validation/main/loss, main/accuracy, validation/main/accuracy.
REPORT_ROW = re.compile(r"^\x1b\[J(\d+)\s+\S+\s+\S+\s+\S+\s+(\S+)", re.MULTILINE)
VAL_LOSS = re.compile(r" val_loss: ([0-9.]+)")


def tar_names(path: Path) -> set[str]:
    with tarfile.open(path, "r:gz") as archive:
        return {member.name.removeprefix("./") for member in archive if member.isfile()}


def test_chainer_mnist_trains_and_leaves_its_artifacts_on_the_host(
    daemon: DockerDaemon, chainer_image: str, mnist_data: Path, tmp_path: Path
) -> None:
    job = prepare_job(tmp_path / "opt_ml", [EXAMPLES / "chainer" / "mnist.py"], {"epochs": 3, "batch-size": 64},
                      mnist_data)
    result = run_container(daemon, chainer_image, ["train"], mounts={job.base: "/opt/ml"})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    rows = [(int(epoch), float(accuracy)) for epoch, accuracy in REPORT_ROW.findall(result.stdout)]
    assert [epoch for epoch, _ in rows] == [1, 2, 3], result.stdout[-3000:]
    assert rows[-1][1] >= 0.9
    assert job.succeeded()
    assert (job.model / "model.npz").is_file()
    assert "model.npz" in tar_names(job.output / "model.tar.gz")
    for plot in ("loss.png", "accuracy.png"):  # matplotlib is in the image: PlotReport works
        assert (job.output / plot).read_bytes().startswith(b"\x89PNG")
    # PYTHONDONTWRITEBYTECODE: the container leaves no root-owned caches in the user's code dir.
    assert not list(job.code.rglob("__pycache__"))


def test_tensorflow_keras_example_trains_and_exports_a_savedmodel(
    daemon: DockerDaemon, tensorflow_image: str, regression_data: Path, tmp_path: Path
) -> None:
    scripts = [EXAMPLES / "tensorflow" / name for name in ("train.py", "model_def.py")]
    job = prepare_job(tmp_path / "opt_ml", scripts, {"epochs": 20, "batch_size": 32, "learning_rate": 0.05},
                      regression_data)
    result = run_container(daemon, tensorflow_image, ["train"], mounts={job.base: "/opt/ml"})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    val_losses = [float(value) for value in VAL_LOSS.findall(result.stdout)]
    assert len(val_losses) == 20, result.stdout[-3000:]
    assert val_losses[-1] < 0.75 * mean_predictor_mse(regression_data)
    assert job.succeeded()
    assert (job.model / "1" / "saved_model.pb").is_file()
    assert "1/saved_model.pb" in tar_names(job.output / "model.tar.gz")


def test_failing_script_leaves_the_failure_file_and_exit_status(
    daemon: DockerDaemon, chainer_image: str, tmp_path: Path
) -> None:
    job = prepare_job(tmp_path / "opt_ml", [SCRIPTS / "raise_error.py"], {})
    result = run_container(daemon, chainer_image, ["train"], mounts={job.base: "/opt/ml"})
    assert result.returncode == 1
    failure = job.failure() or ""
    assert failure.startswith("ExecuteUserScriptError:\nExitCode 1\n")
    assert "ValueError: boom: the learning rate is negative" in failure
    assert not job.succeeded()
    assert "about to fail" in result.stderr


def test_docker_stop_reaches_the_scripts_sigterm_handler(
    daemon: DockerDaemon, chainer_image: str, tmp_path: Path
) -> None:
    job = prepare_job(tmp_path / "opt_ml", [SCRIPTS / "checkpoint_on_sigterm.py"], {})
    name = unique("stop")
    with removed_afterwards(daemon, name):
        daemon.run(*run_args(chainer_image, ["train"], mounts={job.base: "/opt/ml"}, name=name, detach=True,
                             remove=False, env={"SM_STOP_GRACE_SECONDS": "30"}))
        pids = job.output / "data" / "pids"
        deadline = time.monotonic() + 60
        while not pids.exists():
            assert time.monotonic() < deadline, logs(daemon, name)
            time.sleep(0.1)
        started = time.monotonic()
        daemon.run("stop", "--time", "20", name, timeout=60)  # SIGTERM to PID 1, SIGKILL only after 20 s
        stopped_in = time.monotonic() - started
        code = wait_for_exit(daemon, name, 30)
        output = logs(daemon, name)
    assert code == 128 + signal.SIGTERM, output[-3000:]
    assert stopped_in < 15, f"docker stop took {stopped_in:.1f} s: SIGTERM did not stop the job"
    assert (job.base / "checkpoints" / "checkpoint.txt").read_text() == "stopped by signal 15\n"
    assert "checkpoint written" in output
    assert (job.failure() or "").startswith("TrainingStopped:\nSignal SIGTERM\nExitCode 0")
    assert (job.output / "output.tar.gz").exists()  # artifacts are packed after a stop too
    assert len(json.loads(pids.read_text())) == 2


def test_an_sdk_v3_layout_trains_under_the_images_default_command(
    daemon: DockerDaemon, chainer_image: str, mnist_data: Path, tmp_path: Path
) -> None:
    """The code in the `code` channel, `sm_drivers/sourcecode.json` naming it: the Chainer adapter runs it."""
    job = JobDir.at(tmp_path / "opt_ml")
    for channel in ("train", "test"):
        shutil.copytree(mnist_data / channel, job.channel(channel), dirs_exist_ok=True)
    job.hyperparameters({"epochs": "2", "batch-size": "64"}, encode=False)  # as SDK v3 writes them
    code = job.channel("code")
    (code / "mnist.py").write_bytes((EXAMPLES / "chainer" / "mnist.py").read_bytes())
    drivers = job.channel("sm_drivers")
    (drivers / "sourcecode.json").write_text(json.dumps({"source_dir": "/src", "entry_script": "mnist.py"}))
    (drivers / "distributed.json").write_text("{}")
    result = run_container(daemon, chainer_image, [], mounts={job.base: "/opt/ml"})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "mnist.py --epochs 2 --batch-size 64" in result.stderr  # v3's argument rendering
    assert [int(epoch) for epoch, _ in REPORT_ROW.findall(result.stdout)] == [1, 2]
    assert job.succeeded()
    assert "model.npz" in tar_names(job.output / "model.tar.gz")
