"""The whole local workflow per framework, through the Python API and through the command line:
train on real data, deploy the model, predict in every content type, stop the endpoint."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from container_runtime.local.endpoints import free_port, list_endpoints
from container_runtime.local.errors import LocalModeError
from harness.example_data import mean_predictor_mse
from harness.local_cli import cli

np = pytest.importorskip("numpy")
pytest.importorskip("gunicorn")
REPO = Path(__file__).resolve().parents[3]
EXAMPLES = REPO / "examples"


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path
    from container_runtime.local.endpoints import stop_endpoint

    for record in list_endpoints(tmp_path / "endpoints"):  # never leave one running
        stop_endpoint(record.name, tmp_path / "endpoints")


def test_chainer_through_the_api(home: Path, digits: Path) -> None:
    from container_runtime.local import Chainer

    estimator = Chainer("mnist.py", source_dir=EXAMPLES / "chainer", hyperparameters={"epochs": 2},
                        jobs_dir=home / "jobs", endpoints_dir=home / "endpoints", console=None)
    job = estimator.fit({"train": digits / "train", "test": digits / "test"})
    assert job.status == "Completed"
    test = np.load(digits / "test" / "test.npz")
    images, labels = test["images"][:100], test["labels"][:100]
    with estimator.deploy(port=free_port()) as predictor:
        assert [record.name for record in list_endpoints(home / "endpoints")] == [predictor.endpoint_name]
        scores = predictor.predict(images)  # NPY both ways, the Chainer preset's default
        assert isinstance(scores, np.ndarray) and scores.shape == (100, 10)
        assert float((scores.argmax(axis=1) == labels).mean()) >= 0.8
        as_json = predictor.predict(images[:2].tolist(), content_type="application/json", accept="application/json")
        assert np.allclose(np.asarray(as_json), scores[:2], atol=1e-4)
    assert list_endpoints(home / "endpoints") == []


def test_tensorflow_through_the_api(home: Path, regression: Path) -> None:
    from container_runtime.local import TensorFlow

    estimator = TensorFlow(
        "train.py", source_dir=EXAMPLES / "tensorflow",
        hyperparameters={"epochs": 20, "batch_size": 32, "learning_rate": 0.05},
        metric_definitions=[{"Name": "val_loss", "Regex": r" val_loss: ([0-9\.]+)"}],
        jobs_dir=home / "jobs", endpoints_dir=home / "endpoints", console=None,
    )
    job = estimator.fit({"train": regression / "train", "test": regression / "test"})
    final = {point["MetricName"]: point["Value"] for point in job.description["FinalMetricDataList"]}
    assert final["val_loss"] < 0.75 * mean_predictor_mse(regression)
    x_test = np.load(regression / "test" / "x_test.npy")
    with estimator.deploy(port=free_port()) as predictor:
        answer = predictor.predict({"instances": x_test[:5].tolist()})
        assert len(answer["predictions"]) == 5


def test_chainer_through_the_cli_in_every_content_type(home: Path, digits: Path, tmp_path: Path) -> None:
    trained = cli(home, "run", "mnist.py", "--source-dir", str(EXAMPLES / "chainer"), "--framework", "chainer",
                  "-H", "epochs=1", "-c", f"train={digits / 'train'}", "-c", f"test={digits / 'test'}",
                  "--job-name", "digits")
    assert trained.returncode == 0, trained.stdout[-2000:] + trained.stderr
    port = free_port()
    deployed = cli(home, "deploy", "digits", "--port", str(port), "--name", "digits-endpoint")
    assert deployed.returncode == 0, deployed.stderr
    assert f"at http://127.0.0.1:{port}" in deployed.stdout
    assert "digits-endpoint" in cli(home, "endpoints").stdout

    images = np.load(digits / "test" / "test.npz")["images"][:3]
    np.save(tmp_path / "digits.npy", images)
    (tmp_path / "digits.json").write_text(json.dumps(images.tolist()))
    np.savetxt(tmp_path / "digits.csv", images, delimiter=",")
    answers = []
    for suffix in ("npy", "json", "csv"):
        predicted = cli(home, "predict", "digits-endpoint", "--data", str(tmp_path / f"digits.{suffix}"))
        assert predicted.returncode == 0, predicted.stderr
        answers.append(np.asarray(json.loads(predicted.stdout)))
    assert answers[0].shape == (3, 10)
    assert np.allclose(answers[0], answers[1], atol=1e-4) and np.allclose(answers[0], answers[2], atol=1e-4)

    busy = cli(home, "deploy", "digits", "--port", str(port))
    assert busy.returncode == 2 and busy.stderr.startswith(f"error: port {port} is in use")
    stopped = cli(home, "stop", "digits-endpoint")
    assert stopped.returncode == 0
    assert cli(home, "endpoints").stdout.strip() == "no endpoints running"
    gone = cli(home, "predict", "digits-endpoint", "--data", str(tmp_path / "digits.npy"))
    assert gone.returncode == 2 and "digits-endpoint" in gone.stderr


def test_tensorflow_through_the_cli(home: Path, regression: Path) -> None:
    trained = cli(home, "run", "train.py", "--source-dir", str(EXAMPLES / "tensorflow"), "--framework", "tensorflow",
                  "-H", "epochs=3", "-c", f"train={regression / 'train'}", "-c", f"test={regression / 'test'}",
                  "--metric", r"val_loss= val_loss: ([0-9\.]+)", "--job-name", "keras")
    assert trained.returncode == 0, trained.stdout[-2000:] + trained.stderr
    assert "Metric val_loss = " in trained.stdout


def test_deploy_refuses_what_it_cannot_serve(home: Path) -> None:
    failed = cli(home, "run", str(REPO / "test" / "scripts" / "raise_error.py"), "--job-name", "broken")
    assert failed.returncode == 1
    refused = cli(home, "deploy", "broken")
    assert refused.returncode == 2
    assert refused.stderr.strip() == "error: job broken has status Failed: there is no model to deploy"
    neither = cli(home, "deploy")
    assert neither.stderr.strip() == "error: deploy: name a job, or give --model-data (not both)"
    with pytest.raises(LocalModeError, match="no job record"):
        from container_runtime.local.describe import read_description

        read_description(home / "jobs" / "nothing" / "describe.json")
