"""The SDK layer's Session: upload_data copies into local mode's data store (the notebooks delete
their source right after), names the copy with a file:// URI channels read, and describe calls
answer from local mode's records."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import pytest

import container_runtime.sdk as sagemaker
from container_runtime.local.channels import parse_channel
from container_runtime.local.errors import LocalModeError


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CONTAINER_RUNTIME_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("S3_ENDPOINT_URL", raising=False)
    return tmp_path / "home"


def test_upload_data_copies_a_dir_and_returns_a_file_uri(tmp_path: Path, home: Path) -> None:
    source = tmp_path / "train_cifar"
    (source / "sub").mkdir(parents=True)
    (source / "train.npz").write_bytes(b"data")
    (source / "sub" / "more.txt").write_text("x")
    uri = sagemaker.Session().upload_data(path=str(source), key_prefix="notebook/chainer_cifar/train")
    assert uri == (home / "data" / "sagemaker-local" / "notebook/chainer_cifar/train").as_uri()
    for item in (source / "train.npz", source / "sub" / "more.txt"):
        item.unlink()  # the notebooks remove their source right after uploading
    copied = Path(urlparse(uri).path)
    assert (copied / "train.npz").read_bytes() == b"data" and (copied / "sub" / "more.txt").read_text() == "x"
    assert parse_channel("train", uri).location == str(copied)


def test_upload_data_of_a_file_names_the_file_and_honours_the_bucket(tmp_path: Path, home: Path) -> None:
    source = tmp_path / "vocab.npy"
    source.write_bytes(b"v")
    session = sagemaker.Session(default_bucket="my-bucket")
    assert session.default_bucket() == "my-bucket"
    uri = session.upload_data(str(source), key_prefix="vocab")
    assert uri == (home / "data" / "my-bucket" / "vocab" / "vocab.npy").as_uri()
    other = session.upload_data(str(source), bucket="other", key_prefix="data/x")
    assert Path(urlparse(other).path).read_bytes() == b"v" and "/other/data/x/" in other


def test_defaults_and_placeholders() -> None:
    assert sagemaker.Session().default_bucket() == "sagemaker-local"
    assert sagemaker.get_execution_role().startswith("arn:aws:iam::")
    assert sagemaker.LocalSession().config == {"local": {"local_code": True}}


def test_bad_paths_and_names_are_one_line_errors(tmp_path: Path) -> None:
    session = sagemaker.Session()
    with pytest.raises(LocalModeError, match="upload_data: no such file or directory .*missing"):
        session.upload_data(str(tmp_path / "missing"))
    source = tmp_path / "file.txt"
    source.write_text("x")
    with pytest.raises(LocalModeError, match="upload_data: key_prefix '../../outside': '..' is not allowed"):
        session.upload_data(str(source), key_prefix="../../outside")
    with pytest.raises(LocalModeError, match="upload_data: bucket 'Bad_Bucket'"):
        session.upload_data(str(source), bucket="Bad_Bucket")
    assert not (tmp_path / "outside").exists()
    with pytest.raises(LocalModeError, match="no training job never-ran in "):
        session.sagemaker_client.describe_training_job(TrainingJobName="never-ran")
    with pytest.raises(LocalModeError, match="no endpoint named 'gone'"):
        session.delete_endpoint("gone")
    with pytest.raises(LocalModeError, match="tuning job name 'bad name'"):
        sagemaker.HyperparameterTuningJobAnalytics("bad name")


def test_s3_uploader_and_downloader_copy_local_artifacts(tmp_path: Path, home: Path) -> None:
    from container_runtime.sdk.s3 import S3Downloader, S3Uploader

    model = tmp_path / "job" / "output" / "model.tar.gz"
    model.parent.mkdir(parents=True)
    model.write_bytes(b"tar")
    # What a ported `!aws s3 cp {estimator.model_data} ./local_model/` becomes.
    assert S3Downloader.download(str(model), str(tmp_path / "local_model")) == [
        str(tmp_path / "local_model" / "model.tar.gz")]
    assert S3Downloader.download(model.parent.as_uri(), str(tmp_path / "all")) == [
        str(tmp_path / "all" / "model.tar.gz")]
    uri = S3Uploader.upload(str(model), "s3://artifacts/run-1")
    assert uri == (home / "data" / "artifacts" / "run-1" / "model.tar.gz").as_uri()
    with pytest.raises(LocalModeError, match="S3Downloader.download: no such file or directory"):
        S3Downloader.download(str(tmp_path / "missing"), str(tmp_path / "x"))
