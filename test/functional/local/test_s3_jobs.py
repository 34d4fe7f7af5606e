"""Channels from an S3-compatible store and artifacts uploaded back to it, against a real server
(moto's) that the test starts; an empty or missing prefix fails before any job exists."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.local_cli import cli
from harness.s3_server import S3Server, running_s3_server

pytest.importorskip("boto3")
pytest.importorskip("moto")
QUICKSTART = Path(__file__).resolve().parents[3] / "examples" / "quickstart"


@pytest.fixture(scope="module")
def server() -> Iterator[S3Server]:
    with running_s3_server() as running:
        yield running


@pytest.fixture
def bucket(server: S3Server) -> str:
    name = f"local-{uuid.uuid4().hex[:12]}"
    for channel in ("train", "test"):
        server.put_object(name, f"data/{channel}/{channel}.csv", QUICKSTART / "data" / f"{channel}.csv")
    return name


def test_channels_come_from_s3_and_artifacts_go_back(tmp_path: Path, server: S3Server, bucket: str) -> None:
    result = cli(tmp_path, "run", str(QUICKSTART / "train.py"), "-c", f"train=s3://{bucket}/data/train",
                 "-c", f"test=s3://{bucket}/data/test/", "-H", "epochs=2", "--output", f"s3://{bucket}/jobs",
                 "--job-name", "from-s3", env=server.environment())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "channel train: " in result.stderr  # download progress
    client = server.client()
    keys = {item["Key"] for item in client.list_objects_v2(Bucket=bucket, Prefix="jobs/")["Contents"]}
    assert keys == {"jobs/from-s3/output/model.tar.gz", "jobs/from-s3/output/output.tar.gz",
                    "jobs/from-s3/logs/algo-1.log", "jobs/from-s3/describe.json"}
    described = json.loads(client.get_object(Bucket=bucket, Key="jobs/from-s3/describe.json")["Body"].read())
    assert described["TrainingJobStatus"] == "Completed"
    assert described["ModelArtifacts"]["S3ModelArtifacts"] == f"s3://{bucket}/jobs/from-s3/output/model.tar.gz"
    assert (tmp_path / "jobs" / "from-s3" / "hosts" / "algo-1" / "input" / "data" / "train" / "train.csv").is_file()


@pytest.mark.parametrize(
    ("location", "message"),
    [("s3://{bucket}/nothing-here", "holds no objects"), ("s3://no-such-bucket-{bucket}/data", "does not exist")],
)
def test_an_empty_or_missing_prefix_fails_before_the_job(tmp_path: Path, server: S3Server, bucket: str,
                                                        location: str, message: str) -> None:
    uri = location.format(bucket=bucket)
    result = cli(tmp_path, "run", str(QUICKSTART / "train.py"), "-c", f"train={uri}", env=server.environment())
    assert result.returncode == 2
    assert result.stderr.startswith("error: channel 'train': ") and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "jobs").exists() or not list((tmp_path / "jobs").iterdir())
