"""Pure parts of the legacy path: where checkpoints go, which scripts are legacy, the estimator shim."""

from __future__ import annotations

import types
from pathlib import Path

import pytest

from container_runtime_tensorflow.legacy import estimator_api
from container_runtime_tensorflow.training import is_legacy_script, legacy_checkpoint_dir, tuning_model_dir

MODEL = Path("/opt/ml/model")
LOCAL = Path("/opt/ml/checkpoints")


@pytest.mark.parametrize(
    ("requested", "tuning", "expected"),
    [
        (None, None, MODEL),
        ("", None, MODEL),
        ("/data/ckpt", None, Path("/data/ckpt")),
        ("/data/ckpt", "job-7", Path("/data/ckpt/job-7/checkpoints")),
        ("/data/ckpt/job-7/checkpoints", "job-7", Path("/data/ckpt/job-7/checkpoints")),
        ("s3://bucket/ckpt", None, LOCAL),
        ("s3://bucket/ckpt", "job-7", LOCAL),
    ],
)
def test_legacy_checkpoint_dir(requested: str | None, tuning: str | None, expected: Path) -> None:
    assert legacy_checkpoint_dir(requested, model_dir=MODEL, local_checkpoints=LOCAL, tuning_job_name=tuning) == expected


@pytest.mark.parametrize(
    ("model_dir", "job", "expected"),
    [("s3://b/p", "j", "s3://b/p/j/model"), ("s3://b/p/", "j", "s3://b/p/j/model"),
     ("/opt/ml/model", "j", "/opt/ml/model"), ("s3://b/p", "", "s3://b/p")],
)
def test_tuning_model_dir(model_dir: str, job: str, expected: str) -> None:
    assert tuning_model_dir(model_dir, job, "/opt/ml") == expected


@pytest.mark.parametrize(
    ("source", "legacy"),
    [
        ("def model_fn(f, l, m, p): pass\ndef train_input_fn(training_dir, params): pass\n", True),
        ("def model_fn(f, l, m, p): pass\n", False),
        ("import argparse\nif __name__ == '__main__':\n    pass\n", False),
    ],
)
def test_legacy_detection(tmp_path: Path, source: str, legacy: bool) -> None:
    script = tmp_path / "train.py"
    script.write_text(source)
    assert is_legacy_script(script) is legacy


def test_shim_is_installed_only_where_estimator_is_missing() -> None:
    fake_tf = types.SimpleNamespace(compat=types.SimpleNamespace(v1=types.SimpleNamespace()))
    assert estimator_api.install(fake_tf) is True
    assert fake_tf.estimator.ModeKeys.PREDICT == "infer"
    assert fake_tf.compat.v1.estimator is fake_tf.estimator
    spec = fake_tf.estimator.EstimatorSpec("train", loss=1, train_op=2, training_hooks=[])
    assert (spec.loss, spec.train_op, spec.unused) == (1, 2, {"training_hooks": []})
    receiver = fake_tf.estimator.export.ServingInputReceiver("features", "tensor")
    assert receiver.features == {"inputs": "features"} and receiver.receiver_tensors == {"inputs": "tensor"}
    assert estimator_api.install(fake_tf) is False
