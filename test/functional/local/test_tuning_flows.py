"""The public tuning flows end to end, one per framework preset, on the examples and their generated data:

* CIFAR (Chainer): tune the VGG's learning rate on validation accuracy read with the public regex,
  two jobs at once, then deploy the best job and classify test images over NPY;
* Keras regression (TensorFlow): tune learning rate, epochs and batch size on `val_loss`, three
  jobs at once, each receiving integers for the integer ranges;
* legacy MNIST (TensorFlow, a `model_fn` script): tune the learning rate on the `loss = X` lines.

Epochs, steps and data are kept small so that each flow takes seconds on a small CPU machine.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from container_runtime.local.endpoints import free_port, list_endpoints
from container_runtime.local.tuning.ranges import ContinuousParameter, IntegerParameter
from container_runtime.local.tuning.tuner import HyperparameterTuner
from harness.example_data import make_example_data, mean_predictor_mse

np = pytest.importorskip("numpy")
pytest.importorskip("optuna")
pytest.importorskip("pandas")  # the analytics table
pytest.importorskip("sklearn")  # every example's data

pytestmark = pytest.mark.slow

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"

#: The public tuning jobs' objective regexes.
CIFAR_ACCURACY = r"\[J1\s+\d\.\d+\s+\d\.\d+\s+\d\.\d+\s+(\d\.\d+)"
KERAS_VAL_LOSS = r" val_loss: ([0-9\.]+)"
LEGACY_LOSS = r"loss = ([0-9\.]+)"
#: CIFAR images per channel: about half of what make_data.py writes.
CIFAR_TRAIN, CIFAR_TEST = 1500, 300


# Data, once per module ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def cifar(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("chainer")
    pytest.importorskip("matplotlib")  # the example's PlotReport
    out = tmp_path_factory.mktemp("cifar")
    make_example_data(EXAMPLES / "chainer" / "make_data.py", out, "--only", "cifar")
    # The first of the generated images (in random class order), so that one epoch takes seconds.
    small = out / "small"
    for split, count in (("train", CIFAR_TRAIN), ("test", CIFAR_TEST)):
        with np.load(out / "cifar" / split / f"{split}.npz") as arrays:
            data, labels = arrays["data"][:count], arrays["labels"][:count]
        (small / split).mkdir(parents=True)
        np.savez(small / split / f"{split}.npz", data=data, labels=labels)
    return small


@pytest.fixture(scope="module")
def tfrecords(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("tensorflow")
    pytest.importorskip("tf_keras", reason="legacy scripts' tf.compat.v1.layers need tf-keras")
    return make_example_data(EXAMPLES / "tensorflow" / "legacy" / "make_tfrecords.py",
                             tmp_path_factory.mktemp("legacy") / "training")


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path
    from container_runtime.local.endpoints import stop_endpoint

    for record in list_endpoints(tmp_path / "endpoints"):  # never leave one running
        stop_endpoint(record.name, tmp_path / "endpoints")


def homes(home: Path) -> dict[str, Any]:
    return {"jobs_dir": home / "jobs", "endpoints_dir": home / "endpoints", "console": None}


# Reading a tuning job's training jobs back ----------------------------------------------------


def job_dir(description: dict[str, Any], job_name: str) -> Path:
    path = Path(description["TuningDir"]) / "jobs" / job_name
    assert path.is_dir(), path
    return path


def sent(path: Path) -> dict[str, str]:
    """The hyperparameters a job received, JSON-encoded as SageMaker sends them."""
    return json.loads((path / "hosts" / "algo-1" / "input" / "config" / "hyperparameters.json").read_text())


def log(path: Path) -> str:
    return (path / "logs" / "algo-1.log").read_text()


def check_best(description: dict[str, Any], frame: Any, best_value: float) -> None:
    best = description["BestTrainingJob"]
    assert best["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == best_value
    row = frame[frame["TrainingJobName"] == best["TrainingJobName"]]
    assert list(row["FinalObjectiveValue"]) == [best_value]
    assert Path(best["JobDir"]) == job_dir(description, best["TrainingJobName"])


# The flows ------------------------------------------------------------------------------------


def test_cifar_learning_rate_tuning_then_the_best_job_classifies_test_images(home: Path, cifar: Path) -> None:
    pytest.importorskip("gunicorn")
    from container_runtime.local import Chainer

    estimator = Chainer("cifar_vgg.py", source_dir=EXAMPLES / "chainer",
                        hyperparameters={"epochs": 1, "batch-size": 64}, **homes(home))
    tuner = HyperparameterTuner(
        estimator, "Validation-accuracy", {"learning-rate": ContinuousParameter(0.05, 0.06)},
        [{"Name": "Validation-accuracy", "Regex": CIFAR_ACCURACY}], objective_type="Maximize",
        max_jobs=2, max_parallel_jobs=2, random_seed=0, console=None,
    )
    result = tuner.fit({"train": cifar / "train", "test": cifar / "test"}, job_name="cifar-lr")
    described = result.description
    assert result.status == "Completed", described
    assert described["TrainingJobStatusCounters"]["Completed"] == 2
    assert described["ObjectiveStatusCounters"] == {"Succeeded": 2, "Pending": 0, "Failed": 0}

    frame = tuner.analytics()
    assert len(frame) == 2 and set(frame["ObjectiveStatus"]) == {"Succeeded"}
    for name, rate, accuracy in zip(frame["TrainingJobName"], frame["learning-rate"], frame["FinalObjectiveValue"],
                                    strict=True):
        assert 0.05 <= rate <= 0.06
        received = sent(job_dir(described, name))
        assert float(received["learning-rate"]) == rate
        text = log(job_dir(described, name))
        assert f"# learning rate: {json.loads(received['learning-rate'])}" in text  # the script used it
        assert float(re.findall(CIFAR_ACCURACY, text)[-1]) == accuracy
        assert 0.2 < accuracy <= 1.0  # well above chance (0.1) after one epoch
    best_accuracy = float(frame["FinalObjectiveValue"].max())
    check_best(described, frame, best_accuracy)

    with np.load(cifar / "test" / "test.npz") as test:
        images, labels = test["data"].astype(np.float32), test["labels"]
    with tuner.deploy(port=free_port()) as predictor:
        endpoints = list_endpoints(home / "endpoints")
        assert [record.name for record in endpoints] == [predictor.endpoint_name]
        assert described["BestTrainingJob"]["TrainingJobName"] in endpoints[0].model_data  # the best job's model
        scores = predictor.predict(images[:5])  # NPY both ways, the Chainer preset's default
        assert isinstance(scores, np.ndarray) and scores.shape == (5, 10) and np.isfinite(scores).all()
        # The test set in the Evaluator's batches: the mean of the batch accuracies is the objective it reported.
        batches = [predictor.predict(images[start:start + 64]).argmax(axis=1) == labels[start:start + 64]
                   for start in range(0, len(images), 64)]
        assert float(np.mean([batch.mean() for batch in batches])) == pytest.approx(best_accuracy, abs=1e-4)
    assert list_endpoints(home / "endpoints") == []


def test_keras_regression_tuning_runs_three_jobs_at_once_with_integer_epochs_and_batches(
    home: Path, regression: Path
) -> None:
    from container_runtime.local import TensorFlow

    estimator = TensorFlow("train.py", source_dir=EXAMPLES / "tensorflow", **homes(home))
    ranges = {
        "learning_rate": ContinuousParameter(0.001, 0.2, "Logarithmic"),
        "epochs": IntegerParameter(10, 50),
        "batch_size": IntegerParameter(64, 256),
    }
    tuner = HyperparameterTuner(estimator, "val_loss", ranges, [{"Name": "val_loss", "Regex": KERAS_VAL_LOSS}],
                                objective_type="Minimize", max_jobs=3, max_parallel_jobs=3, random_seed=0,
                                console=None)
    result = tuner.fit({"train": regression / "train", "test": regression / "test"}, job_name="keras-regression")
    described = result.description
    assert result.status == "Completed", described
    assert described["TrainingJobStatusCounters"]["Completed"] == 3
    assert described["ObjectiveStatusCounters"]["Succeeded"] == 3

    frame = tuner.analytics()
    assert len(frame) == 3
    for name in frame["TrainingJobName"]:
        path = job_dir(described, name)
        received = sent(path)
        assert re.fullmatch(r"\d+", received["epochs"]) and re.fullmatch(r"\d+", received["batch_size"]), received
        epochs, batch_size = int(received["epochs"]), int(received["batch_size"])
        assert 10 <= epochs <= 50 and 64 <= batch_size <= 256
        assert 0.001 <= float(received["learning_rate"]) <= 0.2
        text = log(path)
        assert f"batch_size = {batch_size}, epochs = {epochs}, " in text  # argparse's type=int took them
        assert len(re.findall(KERAS_VAL_LOSS, text)) == epochs  # one objective value per epoch
    best_tuned = described["BestTrainingJob"]["TunedHyperParameters"]
    assert best_tuned["epochs"].isdigit() and best_tuned["batch_size"].isdigit()

    # All three ran at once: each started before any ended.
    assert frame["TrainingStartTime"].max() < frame["TrainingEndTime"].min(), frame
    best = float(frame["FinalObjectiveValue"].min())
    check_best(described, frame, best)
    assert best < mean_predictor_mse(regression)  # the best model beats predicting the mean


def test_legacy_mnist_tuning_reads_the_loss_lines(home: Path, tfrecords: Path) -> None:
    from container_runtime.local import TensorFlow

    estimator = TensorFlow(
        "mnist.py", source_dir=EXAMPLES / "tensorflow" / "legacy",
        hyperparameters={"training_steps": 60, "evaluation_steps": 4, "log_step_count_steps": 20}, **homes(home),
    )
    tuner = HyperparameterTuner(estimator, "loss", {"learning_rate": ContinuousParameter(0.0005, 0.005)},
                                [{"Name": "loss", "Regex": LEGACY_LOSS}], objective_type="Minimize", max_jobs=2,
                                max_parallel_jobs=2, random_seed=0, console=None)
    result = tuner.fit(tfrecords, job_name="legacy-mnist")  # one input: the `training` channel
    described = result.description
    assert result.status == "Completed", described
    assert described["ObjectiveStatusCounters"]["Succeeded"] == 2

    frame = tuner.analytics()
    assert len(frame) == 2
    assert frame["FinalObjectiveValue"].notna().all(), frame
    for name, value in zip(frame["TrainingJobName"], frame["FinalObjectiveValue"], strict=True):
        path = job_dir(described, name)
        assert 0.0005 <= float(sent(path)["learning_rate"]) <= 0.005
        text = log(path)
        losses = [float(loss) for loss in re.findall(LEGACY_LOSS, text)]
        # steps 1, 20, 40, 60, then the evaluation's summary: the objective is the last of the series
        assert len(losses) == 5, text
        assert re.search(r"^loss = [0-9.]+, step = 60\b", text, re.MULTILINE)
        assert value == losses[-1] < losses[0]
    check_best(described, frame, float(frame["FinalObjectiveValue"].min()))
