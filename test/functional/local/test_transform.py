"""Batch transform jobs on the process backend: a real endpoint (the runtime's `serve`) answers
every record of real files; outputs, order, refusals, S3 and the command line as users see them."""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from container_runtime.local.endpoints import list_endpoints
from container_runtime.local.errors import LocalModeError, LocalModeFailure
from harness.local_cli import cli

np = pytest.importorskip("numpy")
pytest.importorskip("gunicorn")

#: Answers each row with (scale * its sum, rows in its request); refuses rows with a negative value (serve answers 500).
INFERENCE = '''
import json
import os
import time

import numpy as np


def model_fn(model_dir):
    with open(os.path.join(model_dir, "model.json")) as file:
        return json.load(file)


def predict_fn(data, model):
    rows = np.atleast_2d(np.asarray(data, dtype=float))
    time.sleep(float(os.environ.get("SECONDS_PER_REQUEST", "0")))
    if (rows < 0).any():
        raise ValueError("negative inputs are refused")
    if (rows == 424242.5).any():
        os._exit(3)  # the worker dies mid-request
    return np.column_stack([rows.sum(axis=1) * model["scale"], np.full(len(rows), len(rows))])
'''


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(model.tar.gz holding model.json, the code dir with inference.py)."""
    root = tmp_path_factory.mktemp("model")
    archive = root / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        content = b'{"scale": 2}'
        info = tarfile.TarInfo("model.json")
        info.size = len(content)
        tar.addfile(info, io.BytesIO(content))
    code = root / "code"
    code.mkdir()
    (code / "inference.py").write_text(INFERENCE)
    return archive, code


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path
    assert list_endpoints(tmp_path / "endpoints") == []  # every job stopped its endpoint


def rows(count: int, width: int, start: int = 0) -> np.ndarray:
    return np.arange(start, start + count * width, dtype=float).reshape(count, width) / 7


def write_csv(path: Path, values: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savetxt(path, values, delimiter=",", fmt="%.4f")
    return path


def expected(path: Path) -> np.ndarray:
    return np.loadtxt(path, delimiter=",", ndmin=2).sum(axis=1) * 2


def transformer(model: tuple[Path, Path], home: Path, **kwargs: object) -> object:
    from container_runtime.local import Transformer

    archive, code = model
    return Transformer(str(archive), entry_point="inference.py", source_dir=code, endpoints_dir=home / "endpoints",
                       console=None, **kwargs)  # type: ignore[arg-type]


def read_answers(path: Path) -> np.ndarray:
    return np.loadtxt(path, delimiter=",", ndmin=1)


def answered(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(each row's answer, the number of rows in the request that carried it) from a CSV output."""
    table = np.loadtxt(path, delimiter=",", ndmin=2)
    return table[:, 0], table[:, 1]


def test_multi_record_line_split_keeps_every_file_in_order(model: tuple[Path, Path], home: Path) -> None:
    data = home / "data"
    # ~2.6 MB per file: several 1 MB requests each, out at once on three workers.
    files = [write_csv(data / name, rows(3000, 120, start)) for name, start in
             (("a.csv", 0), ("b.csv", 10**6), ("nested/c.csv", 2 * 10**6))]
    job = transformer(model, home, strategy="MultiRecord", max_payload=1, max_concurrent_transforms=3,
                      assemble_with="Line", accept="text/csv", output_path=str(home / "out"))
    job.transform(str(data), content_type="text/csv", split_type="Line")  # type: ignore[attr-defined]
    for source, name in zip(files, ("a.csv", "b.csv", "nested/c.csv"), strict=True):
        answers, sizes = answered(home / "out" / f"{name}.out")
        assert answers.shape == (3000,)
        assert np.allclose(answers, expected(source), rtol=1e-6)
        assert sizes.min() > 1 and sizes.max() < 3000  # several rows per request, several requests per file
    result = job.latest_transform_job  # type: ignore[attr-defined]
    assert result.records == 9000 and len(result.outputs) == 3
    assert sorted(path.name for path in (home / "out").rglob("*")) == ["a.csv.out", "b.csv.out", "c.csv.out",
                                                                        "nested"]


def test_single_record_sends_each_line_alone(model: tuple[Path, Path], home: Path) -> None:
    source = write_csv(home / "data" / "small.csv", rows(40, 3))
    job = transformer(model, home, strategy="SingleRecord", accept="text/csv", assemble_with="Line",
                      output_path=str(home / "out"))
    job.transform(str(source), content_type="text/csv", split_type="Line")  # type: ignore[attr-defined]
    answers, sizes = answered(home / "out" / "small.csv.out")
    assert np.allclose(answers, expected(source), rtol=1e-6)
    assert set(sizes) == {1}  # one request per record


def test_without_splitting_each_file_is_one_record(model: tuple[Path, Path], home: Path) -> None:
    first = write_csv(home / "data" / "one.csv", rows(5, 4))
    second = write_csv(home / "data" / "two.csv", rows(3, 4, 100))
    job = transformer(model, home, accept="application/json", output_path=str(home / "out"))
    job.transform(str(home / "data"), content_type="text/csv")  # type: ignore[attr-defined]
    for source in (first, second):
        answer = json.loads((home / "out" / f"{source.name}.out").read_text())  # the answer as the model gave it
        table = np.asarray(answer)
        assert np.allclose(table[:, 0], expected(source), rtol=1e-6)
        assert set(table[:, 1]) == {len(table)}  # the whole file in one request


def test_a_refused_record_fails_the_job_naming_it_and_keeps_completed_files(
    model: tuple[Path, Path], home: Path
) -> None:
    data = home / "data"
    write_csv(data / "a.csv", rows(50, 3))
    bad = rows(50, 3, 1000)
    bad[6, 1] = -1.0  # line 7
    write_csv(data / "b.csv", bad)
    write_csv(data / "c.csv", rows(50, 3, 2000))
    job = transformer(model, home, strategy="MultiRecord", accept="text/csv", output_path=str(home / "out"))
    with pytest.raises(LocalModeFailure) as failed:
        job.transform(str(data), content_type="text/csv", split_type="Line")  # type: ignore[attr-defined]
    message = str(failed.value)
    assert f"{data / 'b.csv'} record 7: endpoint answered 500" in message, message
    assert "negative inputs are refused" in message and "\n" not in message
    assert "1 completed files kept" in message
    assert sorted(path.name for path in (home / "out").iterdir()) == ["a.csv.out"]


def test_a_worker_that_dies_fails_the_job_naming_the_records(model: tuple[Path, Path], home: Path) -> None:
    values = rows(20, 3)
    values[11, 0] = 424242.5  # line 12
    source = write_csv(home / "data" / "dies.csv", values)
    job = transformer(model, home, strategy="MultiRecord", accept="text/csv", output_path=str(home / "out"))
    with pytest.raises(LocalModeFailure) as failed:
        job.transform(str(source), content_type="text/csv", split_type="Line")  # type: ignore[attr-defined]
    message = str(failed.value)
    assert f"{source} records 1-20: the endpoint " in message and "serve.log)" in message, message
    assert list((home / "out").iterdir()) == []


def test_bad_arguments_fail_before_an_endpoint_starts(model: tuple[Path, Path], home: Path) -> None:
    with pytest.raises(LocalModeError, match=r"^strategy 'Batched': choose MultiRecord or SingleRecord$"):
        transformer(model, home, strategy="Batched")
    with pytest.raises(LocalModeError, match=r"^max_payload 0: choose a whole number from 1 to 100 MB$"):
        transformer(model, home, max_payload=0)
    job = transformer(model, home)
    with pytest.raises(LocalModeError, match=r"^split_type 'Lines': choose Line or None$"):
        job.transform(str(home), split_type="Lines")  # type: ignore[attr-defined]
    with pytest.raises(LocalModeError, match=r"no such file or directory"):
        job.transform(str(home / "missing"))  # type: ignore[attr-defined]
    assert not (home / "endpoints").exists()


def test_s3_input_and_output(model: tuple[Path, Path], home: Path, s3_server: object,
                             monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("boto3")
    import uuid

    for name, value in s3_server.environment().items():  # type: ignore[attr-defined]
        monkeypatch.setenv(name, value)
    bucket = f"transform-{uuid.uuid4().hex[:12]}"
    sources = [write_csv(home / "data" / name, rows(200, 5, start)) for name, start in (("x.csv", 0), ("y.csv", 9))]
    for source in sources:
        s3_server.put_object(bucket, f"batch/in/{source.name}", source)  # type: ignore[attr-defined]
    job = transformer(model, home, accept="text/csv", assemble_with="Line", output_path=f"s3://{bucket}/batch/out")
    job.transform(f"s3://{bucket}/batch/in", content_type="text/csv", split_type="Line")  # type: ignore[attr-defined]
    client = s3_server.client()  # type: ignore[attr-defined]
    listed = client.list_objects_v2(Bucket=bucket, Prefix="batch/out/")["Contents"]
    assert sorted(item["Key"] for item in listed) == ["batch/out/x.csv.out", "batch/out/y.csv.out"]
    for source in sources:
        body = client.get_object(Bucket=bucket, Key=f"batch/out/{source.name}.out")["Body"].read()
        assert np.allclose(np.loadtxt(io.BytesIO(body), delimiter=",")[:, 0], expected(source), rtol=1e-6)
    assert job.latest_transform_job.outputs == (  # type: ignore[attr-defined]
        f"s3://{bucket}/batch/out/x.csv.out", f"s3://{bucket}/batch/out/y.csv.out")


def test_the_command_line(model: tuple[Path, Path], home: Path) -> None:
    archive, code = model
    source = write_csv(home / "data" / "rows.csv", rows(30, 4))
    common = ("transform", "--model-data", str(archive), "--entry-point", "inference.py", "--source-dir", str(code),
              "--data", str(source), "--content-type", "text/csv", "--accept", "text/csv")
    done = cli(home, *common, "--split-type", "Line", "--strategy", "MultiRecord", "--assemble-with", "Line",
               "--job-name", "rows")
    assert done.returncode == 0, done.stdout + done.stderr
    output = home / "transforms" / "rows"
    assert np.allclose(answered(output / "rows.csv.out")[0], expected(source), rtol=1e-6)
    assert f"transform: wrote {output / 'rows.csv.out'} (30 records)" in done.stdout
    assert "transform job rows completed: 30 records from 1 of 1 files" in done.stdout
    assert done.stdout.rstrip().endswith(f"Output: {output}")
    again = cli(home, *common, "--job-name", "rows")
    assert (again.returncode, again.stderr) == (
        2, f"error: transform job rows already exists ({home / 'endpoints' / 'rows'}): choose another job name\n")

    import gzip

    packed = home / "packed" / "rows.csv.gz"
    packed.parent.mkdir()
    packed.write_bytes(gzip.compress(source.read_bytes()))
    unpacked = cli(home, *common[:7], "--data", str(packed), "--compression-type", "Gzip", "--split-type", "Line",
                   "--accept", "text/csv", "--output", str(home / "unpacked"))
    assert unpacked.returncode == 0, unpacked.stderr
    assert np.allclose(answered(home / "unpacked" / "rows.csv.gz.out")[0], expected(source), rtol=1e-6)

    unknown = cli(home, *common, "--strategy", "Batched")
    assert (unknown.returncode, unknown.stderr) == (2, "error: strategy 'Batched': choose MultiRecord or SingleRecord\n")
    wide = write_csv(home / "wide" / "wide.csv", rows(3, 80_000))  # ~800 KB per line
    too_small = cli(home, *common[:7], "--data", str(wide), "--split-type", "Line", "--max-payload", "1",
                    "--env", "SAGEMAKER_MAX_PAYLOAD_IN_MB=0.5")  # serve's own limit, below the job's
    assert too_small.returncode == 1, too_small.stderr
    assert too_small.stderr.startswith("error: transform job ") and f"{wide} record 1: endpoint answered 413" \
        in too_small.stderr, too_small.stderr
    with (home / "wide" / "wide.csv").open("a") as file:
        file.write(",".join(["1.5"] * 300_000) + "\n")  # line 4: 1.2 MB
    over = cli(home, *common[:7], "--data", str(wide), "--split-type", "Line", "--max-payload", "1")
    assert (over.returncode, over.stderr) == (
        2, f"error: {wide} record 4: 1200000 bytes is over max_payload (1 MB); raise max_payload or split the file\n")


def test_ctrl_c_stops_the_endpoint(model: tuple[Path, Path], home: Path) -> None:
    import os
    import signal
    import subprocess

    from harness.local_cli import cli_command

    archive, code = model
    source = write_csv(home / "data" / "slow.csv", rows(40, 2))
    environment = {**os.environ, "PYTHONUNBUFFERED": "1"}
    job = subprocess.Popen(
        [*cli_command(), "--home", str(home), "transform", "--model-data", str(archive), "--entry-point",
         "inference.py", "--source-dir", str(code), "--data", str(source), "--split-type", "Line", "--strategy",
         "SingleRecord", "--job-name", "slow", "-e", "SECONDS_PER_REQUEST=0.5"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment,
    )
    try:
        assert job.stdout is not None
        first = job.stdout.readline()
        assert first.startswith("transform job slow: serving"), first
        assert len(list_endpoints(home / "endpoints")) == 1
        job.send_signal(signal.SIGINT)
        _, errors = job.communicate(timeout=60)
    finally:
        if job.poll() is None:
            job.kill()
            job.wait()
    assert (job.returncode, errors) == (130, "error: interrupted\n")
    assert not (home / "transforms" / "slow" / "slow.csv.out").exists()


#: The quick-start model's inference: logistic regression on model.json's weights.
QUICKSTART_INFERENCE = '''
import json
import os

import numpy as np


def model_fn(model_dir):
    with open(os.path.join(model_dir, "model.json")) as file:
        return json.load(file)


def predict_fn(data, model):
    rows = np.atleast_2d(np.asarray(data, dtype=float))
    return 1.0 / (1.0 + np.exp(-(rows @ np.asarray(model["weights"]) + model["bias"])))
'''


def test_the_sdk_style_api_after_a_real_fit(home: Path) -> None:
    from container_runtime.local import Estimator

    quickstart = Path(__file__).resolve().parents[3] / "examples" / "quickstart"
    estimator = Estimator(str(quickstart / "train.py"), hyperparameters={"epochs": 5}, jobs_dir=home / "jobs",
                          endpoints_dir=home / "endpoints", console=None)
    estimator.fit({"train": str(quickstart / "data"), "test": str(quickstart / "data")})
    serving = home / "serving"
    serving.mkdir()
    (serving / "inference.py").write_text(QUICKSTART_INFERENCE)
    table = np.loadtxt(quickstart / "data" / "test.csv", delimiter=",", skiprows=1)
    features, labels = table[:, :3], table[:, 3]
    write_csv(home / "batch" / "test.csv", features)
    transformer = estimator.transformer(strategy="MultiRecord", assemble_with="Line", accept="text/csv",
                                        output_path=str(home / "predictions"), entry_point="inference.py",
                                        source_dir=serving)
    transformer.transform(str(home / "batch"), content_type="text/csv", split_type="Line", wait=False)
    transformer.wait()
    assert transformer.output_path == str(home / "predictions")
    probabilities = read_answers(home / "predictions" / "test.csv.out")
    assert probabilities.shape == labels.shape
    assert float(((probabilities >= 0.5) == (labels == 1)).mean()) >= 0.8

    by_name = cli(home, "transform", estimator.latest_training_job.name, "--entry-point", "inference.py",  # type: ignore[union-attr]
                  "--source-dir", str(serving), "--data", str(home / "batch"), "--split-type", "Line",
                  "--accept", "text/csv", "--output", str(home / "by-name"))
    assert by_name.returncode == 0, by_name.stdout + by_name.stderr
    assert np.allclose(read_answers(home / "by-name" / "test.csv.out"), probabilities)
