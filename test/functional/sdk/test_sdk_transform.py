"""Batch transform through the SDK's names: `estimator.transformer(...)` after a real fit, and
`sagemaker.transformer.Transformer(model_name, ...)` naming the training job, on local mode."""

from __future__ import annotations

import logging
import textwrap
from pathlib import Path

import numpy as np
import pytest

import container_runtime.sdk as sagemaker
from container_runtime.sdk.estimator import Estimator
from container_runtime.sdk.transformer import Transformer

#: Trains a fixed linear model and serves it: one file, as the SDK's examples often are.
SCRIPT = textwrap.dedent("""
    import json, os
    import numpy as np

    def model_fn(model_dir):
        with open(os.path.join(model_dir, "model.json")) as file:
            return json.load(file)

    def predict_fn(data, model):
        return np.atleast_2d(np.asarray(data, dtype=float)) @ np.asarray(model["weights"]) + model["bias"]

    if __name__ == "__main__":
        with open(os.path.join(os.environ["SM_MODEL_DIR"], "model.json"), "w") as file:
            json.dump({"weights": [1.0, 2.0], "bias": 0.5}, file)
""")


def test_estimator_transformer_and_transformer_by_job_name(tmp_path: Path, home: Path,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "linear.py").write_text(SCRIPT)
    rows = np.arange(20, dtype=float).reshape(10, 2)
    data = tmp_path / "batch"
    data.mkdir()
    np.savetxt(data / "rows.csv", rows, delimiter=",", fmt="%g")
    expected = rows @ np.array([1.0, 2.0]) + 0.5

    estimator = Estimator(entry_point="linear.py", source_dir=str(tmp_path / "code"),
                          role=sagemaker.get_execution_role(), instance_count=1, instance_type="local")
    estimator.fit()
    with caplog.at_level(logging.INFO, logger="container_runtime.sdk"):
        transformer = estimator.transformer(1, "ml.m5.xlarge", strategy="MultiRecord", assemble_with="Line",
                                            accept="text/csv", output_path=str(tmp_path / "out"),
                                            tags=[{"Key": "team", "Value": "a"}])
    assert any("ignoring tags" in record.getMessage() for record in caplog.records)
    transformer.transform(str(data), content_type="text/csv", split_type="Line")
    answers = np.loadtxt(tmp_path / "out" / "rows.csv.out", delimiter=",")
    assert np.allclose(answers, expected)

    by_name = Transformer(estimator.latest_training_job.name, 1, "local", strategy="SingleRecord",
                          assemble_with="Line", accept="text/csv", output_path=str(tmp_path / "by-name"))
    by_name.transform(str(data / "rows.csv"), content_type="text/csv", split_type="Line")
    assert np.allclose(np.loadtxt(tmp_path / "by-name" / "rows.csv.out", delimiter=","), expected)


def test_arguments_the_sdk_does_not_have_are_type_errors(home: Path) -> None:
    with pytest.raises(TypeError):
        Transformer("job", 1, "local", split_type="Line")  # type: ignore[call-arg] # transform()'s, not the constructor's
