"""The TensorFlow adapter through `train`: model_dir, TF_CONFIG, parameter servers, model checks."""

from __future__ import annotations

import json
import socket
import time

import pytest

from harness.jobs import JobDir

ADAPTER = {"SAGEMAKER_TRAINING_MODULE": "container_runtime_tensorflow.training:run"}

REPORT = """\
import json, os, sys
report = {"argv": sys.argv[1:], "tf_config": os.environ.get("TF_CONFIG")}
os.makedirs(os.environ["SM_OUTPUT_DATA_DIR"], exist_ok=True)
open(os.path.join(os.environ["SM_OUTPUT_DATA_DIR"], "report.json"), "w").write(json.dumps(report))
"""


def report(job: JobDir) -> dict[str, object]:
    return json.loads((job.output / "data" / "report.json").read_text())  # type: ignore[no-any-return]


def test_model_dir_reaches_the_script(job: JobDir) -> None:
    (job.code / "train.py").write_text(REPORT)
    job.hyperparameters({"sagemaker_program": "train.py", "model_dir": "s3://bucket/prefix/job/model", "epochs": 2})
    result = job.run(ADAPTER)
    assert result.returncode == 0, result.stderr
    assert report(job)["argv"] == ["--epochs", "2", "--model_dir", "s3://bucket/prefix/job/model"]
    assert "will NOT be servable" in result.stderr or "nothing was written" in result.stderr


@pytest.mark.parametrize(
    ("model_dir", "expected"),
    [("s3://bucket/checkpoints", "s3://bucket/checkpoints/tuning-job-007/model"),
     ("/tmp/ckpt/", "/tmp/ckpt/tuning-job-007/model")],
)
def test_tuning_jobs_get_their_own_model_dir(job: JobDir, model_dir: str, expected: str) -> None:
    (job.code / "train.py").write_text(REPORT)
    job.hyperparameters({"sagemaker_program": "train.py", "model_dir": model_dir, "_tuning_objective_metric": "loss"})
    assert job.run({**ADAPTER, "TRAINING_JOB_NAME": "tuning-job-007"}).returncode == 0
    assert report(job)["argv"] == ["--model_dir", expected]


def test_a_model_dir_inside_the_base_dir_is_kept_in_tuning_jobs(job: JobDir) -> None:
    (job.code / "train.py").write_text(REPORT)
    inside = str(job.base / "model")
    job.hyperparameters({"sagemaker_program": "train.py", "model_dir": inside, "_tuning_objective_metric": "loss"})
    assert job.run({**ADAPTER, "TRAINING_JOB_NAME": "tuning-job-007"}).returncode == 0
    assert report(job)["argv"] == ["--model_dir", inside]


def test_no_warning_for_a_numbered_saved_model(job: JobDir) -> None:
    (job.code / "train.py").write_text(
        "import os\nd = os.path.join(os.environ['SM_MODEL_DIR'], '1')\nos.makedirs(d)\n"
        "open(os.path.join(d, 'saved_model.pb'), 'wb').write(b'x')\n"
    )
    job.hyperparameters({"sagemaker_program": "train.py"})
    result = job.run(ADAPTER)
    assert result.returncode == 0
    assert "servable" not in result.stderr and "WARNING" not in result.stderr


def test_multi_worker_mirrored_tf_config(job: JobDir) -> None:
    (job.code / "train.py").write_text(REPORT)
    job.hyperparameters({"sagemaker_program": "train.py", "sagemaker_multi_worker_mirrored_strategy_enabled": True})
    result = job.run(ADAPTER)
    assert result.returncode == 0, result.stderr
    assert report(job)["tf_config"] == (
        '{"cluster": {"worker": ["algo-1:8890"]}, "environment": "cloud", "task": {"index": 0, "type": "worker"}}'
    )
    assert "multi-worker mirrored strategy" in result.stderr


def test_parameter_servers_on_one_host_are_not_started(job: JobDir) -> None:
    (job.code / "train.py").write_text(REPORT)
    job.hyperparameters({"sagemaker_program": "train.py", "sagemaker_parameter_server_enabled": True})
    result = job.run(ADAPTER)
    assert result.returncode == 0
    assert report(job)["tf_config"] is None
    assert "parameter server" not in result.stderr


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


PS_SCRIPT = """\
import json, os, socket, sys, time
deadline = time.monotonic() + 60
while True:
    try:
        socket.create_connection(("127.0.0.1", 2223), timeout=0.5).close()
        break
    except OSError:
        if time.monotonic() > deadline:
            sys.exit("parameter server never listened")
        time.sleep(0.2)
open(os.path.join(os.environ["SM_MODEL_DIR"], "tf_config"), "w").write(os.environ["TF_CONFIG"])
sys.exit(int(os.environ.get("EXIT_WITH", "0")))
"""


@pytest.mark.parametrize("exit_code", ["0", "3"])
def test_parameter_server_runs_beside_the_script_and_is_gone_after(job: JobDir, exit_code: str) -> None:
    pytest.importorskip("tensorflow")
    if port_open(2223):
        pytest.skip("port 2223 is already in use on this machine")
    (job.code / "train.py").write_text(PS_SCRIPT)
    job.hyperparameters({"sagemaker_program": "train.py", "sagemaker_parameter_server_enabled": True})
    job.config_file("resourceconfig.json", {"current_host": "algo-1", "hosts": ["algo-1", "algo-2"]})
    result = job.run({**ADAPTER, "EXIT_WITH": exit_code}, timeout=180)
    assert result.returncode == (0 if exit_code == "0" else 1), result.stderr
    assert json.loads((job.model / "tf_config").read_text())["task"] == {"type": "master", "index": 0}
    assert "Started the parameter server for algo-1" in result.stderr
    assert "Stopped the parameter server" in result.stderr
    time.sleep(0.2)
    assert not port_open(2223)


def test_a_host_outside_the_distribution_groups_runs_plainly(job: JobDir) -> None:
    (job.code / "train.py").write_text(REPORT)
    job.hyperparameters({"sagemaker_program": "train.py", "sagemaker_multi_worker_mirrored_strategy_enabled": True,
                         "sagemaker_distribution_instance_groups": ["trainers"]})
    job.config_file("resourceconfig.json", {
        "current_host": "algo-2", "hosts": ["algo-1", "algo-2"], "current_group_name": "loaders",
        "instance_groups": [{"instance_group_name": "trainers", "instance_type": "ml.c5.xlarge", "hosts": ["algo-1"]},
                            {"instance_group_name": "loaders", "instance_type": "ml.c5.xlarge", "hosts": ["algo-2"]}],
    })
    result = job.run(ADAPTER)
    assert result.returncode == 0, result.stderr
    assert report(job)["tf_config"] is None
