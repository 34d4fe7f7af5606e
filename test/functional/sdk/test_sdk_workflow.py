"""SageMaker SDK code on local mode through `container_runtime.sdk`, on the process backend:
upload data, train, deploy, predict with the framework's default (de)serializers, delete the
endpoint; and upload to an S3-compatible server and train from there."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

import container_runtime.sdk as sagemaker
from container_runtime.local.endpoints import list_endpoints
from harness.example_data import mean_predictor_mse
from harness.s3_server import S3Server

np = pytest.importorskip("numpy")
pytest.importorskip("gunicorn")
REPO = Path(__file__).resolve().parents[3]
EXAMPLES = REPO / "examples"


def test_chainer_train_deploy_predict_delete(home: Path, digits: Path) -> None:
    from container_runtime.sdk.chainer.estimator import Chainer

    session = sagemaker.Session()
    train_input = session.upload_data(path=str(digits / "train"), key_prefix="notebook/chainer/mnist/train")
    test_input = session.upload_data(path=str(digits / "test"), key_prefix="notebook/chainer/mnist/test")
    assert train_input.startswith("file://") and test_input.startswith("file://")

    estimator = Chainer(entry_point="mnist.py", source_dir=str(EXAMPLES / "chainer"),
                        role=sagemaker.get_execution_role(), sagemaker_session=session, train_instance_count=1,
                        train_instance_type="local", hyperparameters={"epochs": 2})
    estimator.fit({"train": train_input, "test": test_input}, logs=False)
    name = estimator.latest_training_job.name
    description = estimator.sagemaker_session.sagemaker_client.describe_training_job(TrainingJobName=name)
    assert description["TrainingJobStatus"] == "Completed"
    artifacts = Path(description["ModelArtifacts"]["S3ModelArtifacts"])
    assert artifacts == Path(estimator.model_data) and artifacts.name == "model.tar.gz"
    assert (artifacts.parent / "output.tar.gz").is_file()

    predictor = estimator.deploy(initial_instance_count=1, instance_type="local")
    assert isinstance(predictor, sagemaker.chainer.ChainerPredictor)
    assert [record.name for record in list_endpoints(home / "endpoints")] == [predictor.endpoint_name]
    test = np.load(digits / "test" / "test.npz")
    images, labels = test["images"][:100], test["labels"][:100]
    scores = predictor.predict(images)  # NPY both ways, as the SDK's ChainerPredictor
    assert isinstance(scores, np.ndarray) and scores.shape == (100, 10)
    assert float((scores.argmax(axis=1) == labels).mean()) >= 0.8

    from container_runtime.sdk.deserializers import JSONDeserializer
    from container_runtime.sdk.predictor import Predictor
    from container_runtime.sdk.serializers import JSONSerializer

    as_json = Predictor(predictor.endpoint_name, serializer=JSONSerializer(), deserializer=JSONDeserializer())
    assert np.allclose(np.asarray(as_json.predict(images[:2])), scores[:2], atol=1e-4)
    estimator.delete_endpoint()
    assert list_endpoints(home / "endpoints") == []

    from container_runtime.sdk.chainer.model import ChainerModel

    model = estimator.create_model()  # a ChainerModel of the trained model, served by the training code
    assert isinstance(model, ChainerModel) and model.model_data == estimator.model_data
    with model.deploy(initial_instance_count=1, instance_type="local", endpoint_name="digits-model") as again:
        assert again.endpoint == "digits-model"
        assert np.allclose(again.predict(images[:3]), scores[:3], atol=1e-4)
    assert list_endpoints(home / "endpoints") == []


def test_tensorflow_script_mode_train_deploy_predict_delete(home: Path, regression: Path) -> None:
    from container_runtime.sdk.tensorflow import TensorFlow

    estimator = TensorFlow(entry_point="train.py", source_dir=str(EXAMPLES / "tensorflow"), model_dir="/opt/ml/model",
                           train_instance_type="local", train_instance_count=1,
                           hyperparameters={"epochs": 20, "batch_size": 32, "learning_rate": 0.05},
                           metric_definitions=[{"Name": "val_loss", "Regex": r" val_loss: ([0-9\.]+)"}],
                           role=sagemaker.get_execution_role(), base_job_name="tf-sdk-regression",
                           framework_version="2.16", py_version="py3", script_mode=True)
    estimator.fit({"train": (regression / "train").as_uri(), "test": (regression / "test").as_uri()}, logs=False)
    assert estimator.latest_training_job.name.startswith("tf-sdk-regression-")
    final = {point["MetricName"]: point["Value"]
             for point in estimator.latest_training_job.describe()["FinalMetricDataList"]}
    assert final["val_loss"] < 0.75 * mean_predictor_mse(regression)
    metrics = sagemaker.TrainingJobAnalytics(estimator.latest_training_job.name, ["val_loss"]).dataframe()
    # Every epoch's value with its time, as CloudWatch would give them; the last is the final value.
    assert list(metrics["metric_name"]) == ["val_loss"] * 20 and metrics["value"].iloc[-1] == final["val_loss"]
    assert metrics["timestamp"].is_monotonic_increasing and metrics["timestamp"].iloc[0] >= 0

    predictor = estimator.deploy(initial_instance_count=1, instance_type="ml.m5.xlarge")
    x_test = np.load(regression / "test" / "x_test.npy")
    answer = predictor.predict(x_test[:5])  # JSON both ways, as the SDK's TensorFlowPredictor
    assert len(answer["predictions"]) == 5
    sagemaker.Session().delete_endpoint(predictor.endpoint)
    assert list_endpoints(home / "endpoints") == []


def test_upload_data_goes_to_the_s3_server_and_jobs_read_it_back(
        home: Path, tmp_path: Path, s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> None:
    from container_runtime.sdk.estimator import Estimator

    for name, value in s3_server.environment().items():
        monkeypatch.setenv(name, value)
    bucket = f"sdk-{uuid.uuid4().hex[:12]}"
    session = sagemaker.Session(default_bucket=bucket)
    data = EXAMPLES / "quickstart" / "data"
    inputs = {channel: session.upload_data(path=str(data / f"{channel}.csv"), key_prefix=f"quickstart/{channel}")
              for channel in ("train", "test")}
    assert inputs == {channel: f"s3://{bucket}/quickstart/{channel}/{channel}.csv" for channel in ("train", "test")}
    listed = s3_server.client().list_objects_v2(Bucket=bucket)["Contents"]
    assert sorted(item["Key"] for item in listed) == ["quickstart/test/test.csv", "quickstart/train/train.csv"]
    assert session.upload_data(path=str(data), key_prefix="all") == f"s3://{bucket}/all"
    from container_runtime.sdk.s3 import S3Downloader

    downloaded = S3Downloader.download(f"s3://{bucket}/all", str(tmp_path / "downloaded"))
    assert downloaded == [str(tmp_path / "downloaded" / name) for name in ("test.csv", "train.csv")]
    assert (tmp_path / "downloaded" / "train.csv").read_bytes() == (data / "train.csv").read_bytes()

    # A LocalSession given the server reads it back even where S3_ENDPOINT_URL is not set.
    monkeypatch.delenv("S3_ENDPOINT_URL")
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3")
    local_session = sagemaker.LocalSession(s3_endpoint_url=s3_server.endpoint_url)
    estimator = Estimator(entry_point=str(EXAMPLES / "quickstart" / "train.py"), role="r", instance_count=1,
                          sagemaker_session=local_session,
                          instance_type="local", hyperparameters={"epochs": 2},
                          metric_definitions=[{"Name": "accuracy", "Regex": r"validation:accuracy=([0-9.]+)"}])
    estimator.fit({"train": f"s3://{bucket}/quickstart/train", "test": f"s3://{bucket}/quickstart/test"}, logs=False)
    job = estimator.latest_training_job
    assert job.status == "Completed"
    assert [point["MetricName"] for point in job.describe()["FinalMetricDataList"]] == ["accuracy"]
