"""Legacy TensorFlow 1 scripts (model_fn and input functions) trained on TensorFlow 2 and served."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from harness.example_data import make_example_data
from harness.jobs import JobDir
from harness.serving import Server

tf = pytest.importorskip("tensorflow", reason="legacy-mode tests need tensorflow")
pytest.importorskip("tf_keras", reason="legacy scripts' tf.compat.v1.layers need tf-keras")

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "tensorflow" / "legacy"
ADAPTER = {"SAGEMAKER_TRAINING_MODULE": "container_runtime_tensorflow.training:run", "TF_CPP_MIN_LOG_LEVEL": "2"}
#: User files named like the runtime's former top-level packages: the legacy runner starts with
#: `python -m` from the code dir, so a runtime module of such a name would import these instead.
HOSTILE_USER_FILES = {
    name: f"raise SystemExit('the runtime imported the user file {name}')\n" for name in ("frameworks.py", "local_mode.py")
}


@pytest.fixture(scope="module")
def training_channel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("legacy-data") / "training"
    return make_example_data(EXAMPLE / "make_tfrecords.py", out)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, training_channel: Path) -> tuple[JobDir, str]:
    job = JobDir.create(tmp_path_factory.mktemp("legacy-job"))
    shutil.copy(EXAMPLE / "mnist.py", job.code / "mnist.py")
    for name, text in HOSTILE_USER_FILES.items():
        (job.code / name).write_text(text)
    shutil.copytree(training_channel, job.channel("training"), dirs_exist_ok=True)
    job.hyperparameters({"sagemaker_program": "mnist.py", "training_steps": 200, "evaluation_steps": 10,
                         "learning_rate": 0.002})
    result = job.run(ADAPTER, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return job, result.stdout


def test_user_files_named_frameworks_or_local_mode_break_nothing(trained: tuple[JobDir, str]) -> None:
    job, stdout = trained  # the fixture's job trained with both files in its code dir
    assert all((job.code / name).exists() for name in HOSTILE_USER_FILES)
    assert "the runtime imported the user file" not in stdout
    assert (job.output / "success").exists()


def test_trains_to_the_global_step_with_the_old_log_lines(trained: tuple[JobDir, str]) -> None:
    job, stdout = trained
    losses = [float(value) for value in re.findall(r"loss = ([0-9\.]+)", stdout)]  # the public tuning regex
    assert len(losses) >= 3 and losses[-1] < losses[0]
    assert re.search(r"^loss = [0-9.]+, step = 200\b", stdout, re.MULTILINE)
    summary = re.search(r"Saving dict for global step 200: accuracy = ([0-9.]+), global_step = 200, loss = [0-9.]+",
                        stdout)
    assert summary and float(summary.group(1)) >= 0.9
    assert (job.model / "model.ckpt-200.index").exists()


def test_exports_a_servo_model_whose_served_predictions_equal_in_process_ones(
    trained: tuple[JobDir, str], training_channel: Path
) -> None:
    job, _ = trained
    exports = sorted((job.model / "export" / "Servo").iterdir())
    assert len(exports) == 1 and exports[0].name.isdigit()
    assert (exports[0] / "saved_model.pb").exists()
    rows = np.random.default_rng(1).random((4, 784)).astype(np.float32)
    signature = tf.saved_model.load(str(exports[0])).signatures["serving_default"]
    local = {name: value.numpy() for name, value in signature(inputs=tf.constant(rows)).items()}

    server = Server(job.base, {"SAGEMAKER_SERVING_FRAMEWORK": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "2"}, workers=1)
    try:
        server.wait_ready(timeout=120)
        reply = server.invoke(json.dumps({"instances": rows.tolist()}).encode(), "application/json")
        assert reply.status == 200, reply.body
        predictions = reply.json()["predictions"]
    finally:
        assert server.stop() == 0
    assert [row["classes"] for row in predictions] == local["classes"].tolist()
    np.testing.assert_allclose([row["probabilities"] for row in predictions], local["probabilities"], rtol=1e-5)


def test_a_script_without_serving_input_fn_trains_but_says_it_is_not_saved(job: JobDir, training_channel: Path) -> None:
    source = (EXAMPLE / "mnist.py").read_text().replace("def serving_input_fn(", "def _not_serving_input_fn(")
    (job.code / "mnist.py").write_text(source)
    shutil.copytree(training_channel, job.channel("training"), dirs_exist_ok=True)
    job.hyperparameters({"sagemaker_program": "mnist.py", "training_steps": 20, "evaluation_steps": 1})
    result = job.run(ADAPTER, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "NOT saved for serving" in result.stdout
    assert "holds no SavedModel" in result.stderr


def test_keras_model_fn_scripts_train_evaluate_and_export(job: JobDir, training_channel: Path) -> None:
    shutil.copy(Path(__file__).resolve().parents[2] / "scripts" / "tensorflow" / "keras_legacy.py", job.code / "train.py")
    shutil.copytree(training_channel, job.channel("training"), dirs_exist_ok=True)
    job.hyperparameters({"sagemaker_program": "train.py", "training_steps": 150, "evaluation_steps": 5})
    result = job.run(ADAPTER, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert re.search(r"^loss = [0-9.]+, step = 150$", result.stdout, re.MULTILINE)
    summary = re.search(r"Saving dict for global step 150: accuracy = ([0-9.]+), global_step = 150", result.stdout)
    assert summary and float(summary.group(1)) >= 0.85
    exports = list((job.model / "export" / "Servo").glob("*/saved_model.pb"))
    assert len(exports) == 1


def test_save_checkpoints_steps_keeps_intermediate_checkpoints(job: JobDir, training_channel: Path) -> None:
    shutil.copy(EXAMPLE / "mnist.py", job.code / "mnist.py")
    shutil.copytree(training_channel, job.channel("training"), dirs_exist_ok=True)
    job.hyperparameters({"sagemaker_program": "mnist.py", "training_steps": 30, "evaluation_steps": 1,
                         "save_checkpoints_steps": 10, "checkpoint_path": str(job.base / "ckpt")})
    result = job.run(ADAPTER, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    saved = sorted(path.name for path in (job.base / "ckpt").glob("model.ckpt-*.index"))
    assert saved == ["model.ckpt-10.index", "model.ckpt-20.index", "model.ckpt-30.index"]
    # checkpoints outside the model dir: the export is copied into it
    assert list((job.model / "export" / "Servo").glob("*/saved_model.pb"))
