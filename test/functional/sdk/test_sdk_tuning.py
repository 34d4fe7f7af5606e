"""The SDK's tuning workflow through `container_runtime.sdk`: a tuner over local training jobs,
waited for, analysed by name as a notebook does, and its best model deployed and deleted."""

from __future__ import annotations

from pathlib import Path

import pytest

import container_runtime.sdk as sagemaker
from container_runtime.local.endpoints import list_endpoints
from container_runtime.local.errors import LocalModeError
from container_runtime.sdk.estimator import Estimator
from container_runtime.sdk.tuner import ContinuousParameter, HyperparameterTuner, IntegerParameter
from harness.example_data import make_example_data

pytest.importorskip("optuna")
pytest.importorskip("pandas")
REPO = Path(__file__).resolve().parents[3]
EXAMPLES = REPO / "examples"


def test_tuning_without_waiting_then_analytics_by_name(home: Path) -> None:
    estimator = Estimator(entry_point=str(EXAMPLES / "tuning" / "branin.py"), role=sagemaker.get_execution_role(),
                          instance_count=1, instance_type="local", hyperparameters={"x1": 0.0, "x2": 2.275})
    tuner = HyperparameterTuner(estimator, "branin", {"x1": ContinuousParameter(-5, 10)},
                                [{"Name": "branin", "Regex": r"branin = ([0-9.]+)"}], max_jobs=3,
                                max_parallel_jobs=1, objective_type="Minimize", random_seed=7)
    assert tuner.fit(job_name="branin-sdk", wait=False) is None
    tuner.wait()
    assert tuner.latest_tuning_job is not None and tuner.latest_tuning_job.job_name == "branin-sdk"
    status = sagemaker.Session().sagemaker_client.describe_hyper_parameter_tuning_job(
        HyperParameterTuningJobName="branin-sdk")["HyperParameterTuningJobStatus"]
    assert status == "Completed"

    analytics = sagemaker.HyperparameterTuningJobAnalytics("branin-sdk")  # a new object finds it by name
    assert analytics.tuning_ranges["x1"]["MinValue"] in ("-5", -5, -5.0)
    frame = analytics.dataframe()
    assert len(frame) == 3 and set(frame["TrainingJobStatus"]) == {"Completed"}
    assert frame["x1"].nunique() == 3  # the tuned values, not the estimator's static x1
    assert {"x1", "FinalObjectiveValue", "TrainingElapsedTimeSeconds", "TrainingJobName"} <= set(frame.columns)
    assert frame["TrainingElapsedTimeSeconds"].sum() > 0
    best = frame.sort_values(["FinalObjectiveValue"], ascending=True).iloc[0]
    assert tuner.best_training_job() == best["TrainingJobName"]
    assert tuner.analytics().dataframe()["TrainingJobName"].tolist() == frame["TrainingJobName"].tolist()
    metrics = sagemaker.TrainingJobAnalytics(best["TrainingJobName"], ["branin"]).dataframe()
    assert metrics["value"].tolist() == [pytest.approx(best["FinalObjectiveValue"])]
    with pytest.raises(LocalModeError, match="metric 'accuracy' is not defined for job"):
        sagemaker.TrainingJobAnalytics(best["TrainingJobName"], ["accuracy"]).dataframe()


def test_chainer_tuner_deploys_its_best_model(home: Path, tmp_path: Path) -> None:
    np = pytest.importorskip("numpy")
    pytest.importorskip("chainer")
    pytest.importorskip("sklearn")
    pytest.importorskip("gunicorn")
    from container_runtime.sdk.chainer.estimator import Chainer

    digits = make_example_data(EXAMPLES / "chainer" / "make_data.py", tmp_path / "data", "--only", "mnist") / "mnist"
    session = sagemaker.Session()
    inputs = {channel: session.upload_data(path=str(digits / channel), key_prefix=f"mnist/{channel}")
              for channel in ("train", "test")}
    estimator = Chainer(entry_point="mnist.py", source_dir=str(EXAMPLES / "chainer"), role="r",
                        sagemaker_session=session, train_instance_count=1, train_instance_type="ml.p2.xlarge",
                        hyperparameters={"epochs": 1})
    tuner = HyperparameterTuner(estimator=estimator, objective_metric_name="validation-accuracy",
                                hyperparameter_ranges={"batch-size": IntegerParameter(64, 128)},
                                metric_definitions=[{"Name": "validation-accuracy",
                                                     "Regex": r"\[J1\s+\d\.\d+\s+\d\.\d+\s+\d\.\d+\s+(\d\.\d+)"}],
                                max_jobs=2, max_parallel_jobs=2)
    assert tuner.fit(inputs) is None  # as the SDK's
    tuner.wait()
    predictor = tuner.deploy(initial_instance_count=1, instance_type="ml.m4.xlarge")
    test = np.load(digits / "test" / "test.npz")
    scores = predictor.predict(test["images"][:50])
    assert scores.shape == (50, 10) and float((scores.argmax(axis=1) == test["labels"][:50]).mean()) >= 0.7
    tuner.delete_endpoint()
    assert list_endpoints(home / "endpoints") == []
