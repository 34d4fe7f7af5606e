"""`parse_s3_uri` and `download_s3_object`, against a real (moto) S3 server on loopback."""

from __future__ import annotations

import io
import os
import socket
import sys
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from container_runtime.errors import (
    ConfigError,
    MissingDependencyError,
    UserCodeError,
)
from container_runtime.usercode.archive import extract_tar_safely
from container_runtime.usercode.s3 import download_s3_object, parse_s3_uri
from harness.s3_server import S3Server, running_s3_server


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("s3://bucket/key", ("bucket", "key")),
        ("s3://my-bucket/jobs/abc/source/sourcedir.tar.gz",
         ("my-bucket", "jobs/abc/source/sourcedir.tar.gz")),
        ("S3://bucket/key", ("bucket", "key")),
        ("s3://bucket/dir/", ("bucket", "dir/")),
        ("s3://bucket//double", ("bucket", "/double")),
        ("s3://bucket/a?b#c d", ("bucket", "a?b#c d")),
        ("s3://bucket.with.dots/k", ("bucket.with.dots", "k")),
    ],
)
def test_parse_s3_uri(uri: str, expected: tuple[str, str]) -> None:
    assert parse_s3_uri(uri) == expected


@pytest.mark.parametrize(
    ("uri", "problem"),
    [
        ("s3://", "no bucket"),
        ("s3:///key", "no bucket"),
        ("s3://bucket", "no object key"),
        ("s3://bucket/", "no object key"),
        ("https://bucket/key", "not an S3 URI"),
        ("bucket/key", "not an S3 URI"),
        ("s3:/bucket/key", "not an S3 URI"),
        ("", "not an S3 URI"),
    ],
)
def test_parse_s3_uri_rejects(uri: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_s3_uri(uri)
    assert caught.value.source == uri
    assert problem in str(caught.value)
    assert str(caught.value).startswith(f"{uri}: ")


STARTUP: dict[str, float] = {}


@pytest.fixture(scope="module")
def s3_server() -> Iterator[S3Server]:
    started = time.monotonic()
    with running_s3_server() as server:
        STARTUP["seconds"] = time.monotonic() - started
        yield server


@pytest.fixture
def aws_env(
    s3_server: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> S3Server:
    """Only the test server's credentials; no profiles, no metadata service."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    for name, value in s3_server.environment().items():
        monkeypatch.setenv(name, value)
    return s3_server


def test_server_starts_quickly_on_loopback(aws_env: S3Server) -> None:
    assert aws_env.endpoint_url.startswith("http://127.0.0.1:")
    assert STARTUP["seconds"] < 10
    env = aws_env.environment()
    assert env["S3_ENDPOINT_URL"] == aws_env.endpoint_url
    assert env["AWS_ACCESS_KEY_ID"] == aws_env.access_key
    assert env["AWS_SECRET_ACCESS_KEY"] == aws_env.secret_key
    assert env["AWS_DEFAULT_REGION"] == aws_env.region


def test_download(aws_env: S3Server, tmp_path: Path) -> None:
    payload = os.urandom(300_000)
    uri = aws_env.put_object("download-bucket", "jobs/1/source/sourcedir.tar.gz", payload)
    destination = tmp_path / "fresh" / "dir" / "sourcedir.tar.gz"

    result = download_s3_object(
        uri, destination, endpoint_url=aws_env.endpoint_url, region=aws_env.region
    )

    assert result == destination
    assert destination.read_bytes() == payload


def test_download_from_file_and_extract(aws_env: S3Server, tmp_path: Path) -> None:
    archive = tmp_path / "upload.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo("train.py")
        body = b"print('trained')\n"
        info.size = len(body)
        tar.addfile(info, io.BytesIO(body))
    uri = aws_env.put_object("extract-bucket", "sourcedir.tar.gz", archive)

    downloaded = download_s3_object(
        uri, tmp_path / "dl" / "sourcedir.tar.gz", endpoint_url=None, region=None
    )  # endpoint and region from the environment (AWS_ENDPOINT_URL_S3, AWS_DEFAULT_REGION)

    assert extract_tar_safely(downloaded, tmp_path / "code") == 1
    assert (tmp_path / "code" / "train.py").read_bytes() == b"print('trained')\n"


def _download_error(server: S3Server, uri: str, tmp_path: Path) -> UserCodeError:
    destination = tmp_path / "out" / "sourcedir.tar.gz"
    with pytest.raises(UserCodeError) as caught:
        download_s3_object(
            uri, destination, endpoint_url=server.endpoint_url, region=server.region
        )
    assert not destination.exists()
    assert "\n" not in str(caught.value)
    assert str(caught.value).startswith(f"{uri}: ")
    return caught.value


def test_missing_key(aws_env: S3Server, tmp_path: Path) -> None:
    aws_env.put_object("missing-key-bucket", "other", b"x")
    error = _download_error(aws_env, "s3://missing-key-bucket/no/such/key.tar.gz", tmp_path)
    assert "NoSuchKey" in str(error)


def test_missing_bucket(aws_env: S3Server, tmp_path: Path) -> None:
    error = _download_error(aws_env, "s3://no-such-bucket-here/key", tmp_path)
    assert "NoSuchBucket" in str(error)


def test_no_credentials(
    aws_env: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    error = _download_error(aws_env, "s3://any-bucket/key", tmp_path)
    assert "NoCredentialsError" in str(error)


def test_endpoint_not_listening(
    aws_env: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    closed = S3Server(endpoint_url=f"http://127.0.0.1:{port}", region=aws_env.region)

    error = _download_error(closed, "s3://any-bucket/key", tmp_path)

    assert "EndpointConnectionError" in str(error)


def test_invalid_endpoint_url(aws_env: S3Server, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not a url"):
        download_s3_object(
            "s3://b/k", tmp_path / "f", endpoint_url="not a url", region=aws_env.region
        )


def test_bad_uri_is_a_config_error_before_boto3(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "boto3", None)
    with pytest.raises(ConfigError):
        download_s3_object("s3://bucket", tmp_path / "f", endpoint_url=None, region=None)


def test_boto3_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "boto3", None)

    with pytest.raises(MissingDependencyError) as caught:
        download_s3_object("s3://b/k", tmp_path / "f", endpoint_url=None, region=None)

    assert caught.value.module == "boto3"
    assert caught.value.extra == "s3"
    assert "container-runtime[s3]" in str(caught.value)
    assert not (tmp_path / "f").exists()
