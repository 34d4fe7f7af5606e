"""The real SageMaker SDK v2 drives our images in its local mode (Docker Compose), offline.

Each test runs `test/scripts/sdk/v2_local_mode.py` with the SDK's own venv (`sdk_v2_python`):
a framework estimator with our CPU image as `image_uri` trains our example on `file://`
channels, deploys with `instance_type="local"`, predicts and deletes the endpoint, as a
notebook does. The SDK reaches the test daemon through DOCKER_HOST, and nothing but loopback
(the harness's `sdk_environment`): the session names its bucket, so it never asks AWS for one.
"""

from __future__ import annotations

import json
import shutil
import tarfile
from pathlib import Path
from typing import Any

import pytest

from harness.docker_daemon import DockerDaemon
from harness.sdk_venvs import run_sdk_script, sdk_environment
from harness.serving import free_port

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

REPO = Path(__file__).resolve().parents[3]
EXAMPLES = REPO / "examples"
SCRIPT = REPO / "test" / "scripts" / "sdk" / "v2_local_mode.py"


def run_local_mode(python: Path, daemon: DockerDaemon, tmp_path: Path, settings: dict[str, Any]) -> dict[str, Any]:
    for name in ("output", "root", "home"):
        (tmp_path / name).mkdir()
    settings = {**settings, "output": str(tmp_path / "output"), "root": str(tmp_path / "root"), "port": free_port()}
    result = run_sdk_script(python, SCRIPT, json.dumps(settings), sdk_environment(daemon, tmp_path / "home"), 1500)
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    assert result.returncode == 0 and lines, (result.stdout[-4000:] + result.stderr[-4000:])
    report: dict[str, Any] = json.loads(lines[-1].removeprefix("RESULT "))
    return report


def copied_code(tmp_path: Path, *scripts: Path) -> Path:
    """The source dir the SDK mounts at /opt/ml/code: a copy, so nothing writes into the repository."""
    code = tmp_path / "code"
    code.mkdir()
    for script in scripts:
        shutil.copy(script, code / script.name)
    return code


def model_members(model_data: str) -> list[str]:
    assert model_data.startswith("file://"), model_data
    with tarfile.open(model_data.removeprefix("file://")) as archive:
        return archive.getnames()


def nothing_left_running(daemon: DockerDaemon) -> None:
    """`delete_endpoint` stopped the serving container (the SDK leaves exited training containers)."""
    running = daemon.run("ps", "--quiet", "--filter", "network=sagemaker-local").stdout.split()
    assert running == [], "a container of the SDK's is still running after delete_endpoint"


def test_chainer_estimator_trains_deploys_predicts_npy_and_deletes(
    sdk_v2_python: Path, daemon: DockerDaemon, chainer_image: str, mnist_data: Path, tmp_path: Path
) -> None:
    report = run_local_mode(sdk_v2_python, daemon, tmp_path, {
        "framework": "chainer", "image": chainer_image, "entry_point": "mnist.py",
        "source_dir": str(copied_code(tmp_path, EXAMPLES / "chainer" / "mnist.py")),
        "data": str(mnist_data), "hyperparameters": {"epochs": 2},
    })
    assert "model.npz" in model_members(report["model_data"])
    assert report["shape"] == [100, 10]
    assert report["accuracy"] >= 0.8
    nothing_left_running(daemon)


def test_tensorflow_script_mode_trains_deploys_predicts_json_and_deletes(
    sdk_v2_python: Path, daemon: DockerDaemon, tensorflow_image: str, regression_data: Path, tmp_path: Path
) -> None:
    scripts = [EXAMPLES / "tensorflow" / name for name in ("train.py", "model_def.py")]
    report = run_local_mode(sdk_v2_python, daemon, tmp_path, {
        "framework": "tensorflow", "image": tensorflow_image, "entry_point": "train.py",
        "source_dir": str(copied_code(tmp_path, *scripts)), "data": str(regression_data),
        "hyperparameters": {"epochs": 20, "batch_size": 32, "learning_rate": 0.05},
    })
    assert "1/saved_model.pb" in model_members(report["model_data"])
    assert report["count"] == 50
    assert report["mse"] < report["target_variance"]  # better than predicting the mean
    nothing_left_running(daemon)
