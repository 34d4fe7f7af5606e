"""The SDK layer takes SageMaker SDK v2's (and v1's) arguments: mapped where local mode has a
meaning for them, logged once as ignored where it has none, refused in one line where dropping
them would change results, and a TypeError where the SDK has no such argument."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

from container_runtime.local.errors import LocalModeError
from container_runtime.sdk.chainer.estimator import Chainer
from container_runtime.sdk.estimator import Estimator
from container_runtime.sdk.inputs import TrainingInput, channels_of
from container_runtime.sdk.session import Session
from container_runtime.sdk.tensorflow.estimator import TensorFlow
from container_runtime.sdk.tuner import ContinuousParameter, HyperparameterTuner, IntegerParameter

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CONTAINER_RUNTIME_HOME", str(tmp_path))
    return tmp_path


def chainer(**kwargs: object) -> Chainer:
    return Chainer(entry_point="mnist.py", source_dir=str(REPO / "examples" / "chainer"), **kwargs)  # type: ignore[arg-type]


def test_v1_and_v2_names_map_onto_the_local_estimator(home: Path) -> None:
    old = chainer(role="r", train_instance_count=1, train_instance_type="ml.p2.xlarge",
                  hyperparameters={"epochs": 1}, base_job_name="cifar", output_path="/tmp/out")
    new = chainer(role="r", instance_count=1, instance_type="local_gpu")
    assert (old.instance_count, old.instance_type, old.base_job_name, old.output_path) == (1, "ml.p2.xlarge",
                                                                                           "cifar", "/tmp/out")
    assert new.instance_type == "local_gpu"
    assert old.hyperparameters == {"epochs": 1}
    assert old.backend == "local" and old.jobs_dir == home / "jobs" and old.endpoints_dir == home / "endpoints"
    docker = chainer(instance_type="local", image_name="container-runtime/chainer:cpu")
    assert (docker.backend, docker.image) == ("docker", "container-runtime/chainer:cpu")


def test_hyperparameters_are_a_mapping_and_the_sdks_method() -> None:
    estimator = chainer(hyperparameters={"epochs": 1})
    estimator.set_hyperparameters(**{"batch-size": 64})
    assert estimator.hyperparameters == {"epochs": 1, "batch-size": 64}
    assert estimator.hyperparameters() == {"epochs": 1, "batch-size": 64}


def test_mpi_arguments_become_the_chainer_hyperparameters() -> None:
    estimator = chainer(use_mpi=True, num_processes=2, process_slots_per_host=2)
    assert estimator.framework_hyperparameters() == {
        "sagemaker_use_mpi": True, "sagemaker_num_processes": 2, "sagemaker_process_slots_per_host": 2}


def test_arguments_without_local_meaning_are_logged_once_in_one_line(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="container_runtime.sdk")
    chainer(role="arn:aws:iam::1:role/x", instance_type="local", volume_size=50, max_run=3600,
            tags=[{"Key": "a", "Value": "b"}], framework_version="5.0.0", py_version="py3")
    lines = [record.getMessage() for record in caplog.records]
    assert lines == ["Chainer: ignoring framework_version, max_run, py_version, role, tags, volume_size "
                     "(no meaning on local mode)"]


@pytest.mark.parametrize(("kwargs", "named"), [
    ({"input_mode": "Pipe"}, "input_mode='Pipe'"),
    ({"py_version": "py2"}, "py_version='py2'"),
    ({"git_config": {"repo": "https://example.com/x.git"}}, "git_config="),
    ({"instance_groups": ["a"]}, "instance_groups="),
    ({"container_entry_point": ["python"]}, "container_entry_point="),
    ({"disable_output_compression": True}, "disable_output_compression=True"),
    ({"instance_type": "p3.2xlarge"}, "instance_type='p3.2xlarge'"),
    ({"instance_count": 0}, "instance_count=0"),
])
def test_arguments_that_would_change_results_are_refused_by_name(kwargs: dict[str, object], named: str) -> None:
    with pytest.raises(LocalModeError, match="^Chainer: " + named.replace("(", r"\(")) as error:
        chainer(**kwargs)
    assert "\n" not in str(error.value)


def test_an_argument_the_sdk_does_not_have_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="'no_such_argument'"):
        chainer(no_such_argument=1)
    with pytest.raises(TypeError, match="'distribution'"):  # the SDK's Chainer has none
        chainer(distribution={"mpi": {"enabled": True}})


def test_v1_and_v2_names_must_agree() -> None:
    with pytest.raises(LocalModeError, match="train_instance_type='local' and instance_type='ml.m5.large' disagree"):
        chainer(train_instance_type="local", instance_type="ml.m5.large")


def test_tensorflow_legacy_arguments_become_hyperparameters() -> None:
    legacy = TensorFlow(entry_point="mnist.py", source_dir=str(REPO / "examples" / "tensorflow" / "legacy"),
                        role="r", framework_version="1.12.0", training_steps=1000, evaluation_steps=100,
                        train_instance_count=1, train_instance_type="ml.m4.xlarge", base_job_name="DEMO-hpo")
    assert legacy.framework_hyperparameters() == {"training_steps": 1000, "evaluation_steps": 100}


def test_tensorflow_model_dir_is_sent_unless_it_is_the_containers_own() -> None:
    source = str(REPO / "examples" / "tensorflow")
    local = TensorFlow(entry_point="train.py", source_dir=source, model_dir="/opt/ml/model", script_mode=True)
    assert "model_dir" not in local.framework_hyperparameters()  # the script's default, SM_MODEL_DIR, is it
    docker = TensorFlow(entry_point="train.py", source_dir=source, image_uri="container-runtime/tensorflow:cpu")
    assert docker.framework_hyperparameters()["model_dir"] == "/opt/ml/model"
    elsewhere = TensorFlow(entry_point="train.py", source_dir=source, model_dir="/tmp/checkpoints")
    assert elsewhere.framework_hyperparameters()["model_dir"] == "/tmp/checkpoints"


def test_tensorflow_distribution_kinds_we_lack_are_refused_at_construction() -> None:
    source = str(REPO / "examples" / "tensorflow")
    ok = TensorFlow(entry_point="train.py", source_dir=source, distributions={"parameter_server": {"enabled": True}})
    assert ok.framework_hyperparameters() == {"sagemaker_parameter_server_enabled": True}
    with pytest.raises(LocalModeError, match="^TensorFlow: distribution: distribution 'smdistributed'"):
        TensorFlow(entry_point="train.py", source_dir=source, distribution={"smdistributed": {}})
    with pytest.raises(LocalModeError, match="compiler_config"):
        TensorFlow(entry_point="train.py", source_dir=source, compiler_config=object())
    with pytest.raises(TypeError, match="entry_point"):
        TensorFlow(source_dir=source)


def test_training_inputs_that_change_the_data_are_refused() -> None:
    assert channels_of({"train": TrainingInput("file:///data")}, 1) == {"train": "file:///data"}
    assert channels_of(TrainingInput("s3://b/p"), 1) == {"training": "s3://b/p"}
    with pytest.raises(LocalModeError, match="channel 'train'.*input_mode='Pipe'"):
        channels_of({"train": TrainingInput("s3://b/p", input_mode="Pipe")}, 1)
    with pytest.raises(LocalModeError, match="distribution='ShardedByS3Key'"):
        channels_of({"train": TrainingInput("s3://b/p", distribution="ShardedByS3Key")}, 2)
    with pytest.raises(LocalModeError, match="s3_data_type='ManifestFile'"):
        channels_of({"train": TrainingInput("s3://b/m", s3_data_type="ManifestFile")}, 1)
    with pytest.raises(LocalModeError, match="expected a path"):
        channels_of({"train": 3}, 1)


def test_generic_estimator_needs_an_entry_point_locally() -> None:
    with pytest.raises(LocalModeError, match="entry_point is required"):
        Estimator(image_uri="my-image:latest", role="r", instance_count=1, instance_type="local")


def test_deploy_arguments_are_checked_before_anything_starts() -> None:
    estimator = chainer()
    with pytest.raises(LocalModeError, match="deploy: instance_type='gpu'"):
        estimator.deploy(initial_instance_count=1, instance_type="gpu")
    with pytest.raises(LocalModeError, match="serverless_inference_config"):
        estimator.deploy(1, "local", serverless_inference_config=object())
    with pytest.raises(TypeError, match="'port'"):
        estimator.deploy(1, "local", port=8080)


def test_tuned_names_replace_the_estimators_static_values(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="container_runtime.sdk")
    estimator = chainer(hyperparameters={"epochs": 30, "batch-size": 128, "learning-rate": 0.01})
    tuner = HyperparameterTuner(estimator, "acc", {"learning-rate": ContinuousParameter(0.001, 0.2),
                                                   "batch-size": IntegerParameter(64, 256)},
                                [{"Name": "acc", "Regex": r"acc ([0-9.]+)"}], max_jobs=2)
    assert tuner.estimator.hyperparameters == {"epochs": 30}
    assert estimator.hyperparameters == {"epochs": 30, "batch-size": 128, "learning-rate": 0.01}  # left as it was
    assert "tuned values replace the estimator's static batch-size, learning-rate" in caplog.text


def test_tuner_refuses_what_it_cannot_honour() -> None:
    estimator = chainer(hyperparameters={"epochs": 1})
    ranges = {"learning-rate": ContinuousParameter(0.05, 0.06)}
    definitions = [{"Name": "acc", "Regex": r"acc ([0-9.]+)"}]
    tuner = HyperparameterTuner(estimator, "acc", ranges, definitions, max_jobs=2, max_parallel_jobs=2)
    assert tuner.config.max_jobs == 2 and tuner.config.tuning_root == Session().tuning_dir
    with pytest.raises(LocalModeError, match="autotune=True"):
        HyperparameterTuner(estimator, "acc", ranges, definitions, autotune=True)
    with pytest.raises(LocalModeError, match="estimator_name='a'"):
        HyperparameterTuner(estimator, "acc", ranges, definitions, estimator_name="a")
    with pytest.raises(TypeError, match="'storage'"):
        HyperparameterTuner(estimator, "acc", ranges, definitions, storage="sqlite://")  # type: ignore[call-arg]


def test_importing_the_package_loads_nothing_heavy() -> None:
    code = ("import sys, container_runtime.sdk as sagemaker; "
            "assert 'container_runtime.local.estimator' not in sys.modules; "
            "assert sagemaker.Session and sagemaker.HyperparameterTuningJobAnalytics; "
            "assert 'numpy' not in sys.modules and 'pandas' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


@pytest.mark.parametrize("path", [
    "container_runtime.sdk.session:Session", "container_runtime.sdk.session:get_execution_role",
    "container_runtime.sdk.local:LocalSession", "container_runtime.sdk.estimator:Estimator",
    "container_runtime.sdk.estimator:Framework", "container_runtime.sdk.chainer:Chainer",
    "container_runtime.sdk.chainer.model:ChainerModel", "container_runtime.sdk.chainer.model:ChainerPredictor",
    "container_runtime.sdk.tensorflow:TensorFlow", "container_runtime.sdk.tensorflow.estimator:TensorFlow",
    "container_runtime.sdk.tensorflow.model:TensorFlowPredictor", "container_runtime.sdk.tuner:IntegerParameter",
    "container_runtime.sdk.tuner:CategoricalParameter", "container_runtime.sdk.parameter:ContinuousParameter",
    "container_runtime.sdk.analytics:TrainingJobAnalytics", "container_runtime.sdk.predictor:Predictor",
    "container_runtime.sdk.inputs:TrainingInput", "container_runtime.sdk:TrainingInput",
    "container_runtime.sdk.serializers:NumpySerializer", "container_runtime.sdk.deserializers:StreamDeserializer",
])
def test_the_sdks_import_paths_exist_under_our_namespace(path: str) -> None:
    import importlib

    module, _, name = path.partition(":")
    assert getattr(importlib.import_module(module), name) is not None
