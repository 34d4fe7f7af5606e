"""`container_runtime.local.s3` against a real S3-compatible server (moto's, on loopback), one per module."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from container_runtime.local import s3
from container_runtime.local.errors import LocalModeError
from container_runtime.local.s3 import check_bucket, check_readable_prefix, download_prefix, upload_file
from harness.s3_server import S3Server, running_s3_server

REPO = Path(__file__).resolve().parents[3]
Put = Callable[[str, bytes], str]


@pytest.fixture(scope="module")
def s3_server() -> Iterator[S3Server]:
    with running_s3_server() as server:
        yield server


@pytest.fixture(scope="module")
def admin(s3_server: S3Server) -> Any:
    """One client for arranging buckets and objects (a client takes ~0.1 s to make)."""
    return s3_server.client()


@pytest.fixture(scope="module")
def no_aws_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("no-aws-files")


@pytest.fixture
def aws_env(s3_server: S3Server, no_aws_files: Path, monkeypatch: pytest.MonkeyPatch) -> S3Server:
    """Only the test server's credentials and endpoint; no profiles, no metadata service.

    The same in every test, so `container_runtime.local.s3` reuses its client (~0.1 s each) across them.
    """
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(no_aws_files / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(no_aws_files / "credentials"))
    for name, value in s3_server.environment().items():
        monkeypatch.setenv(name, value)
    return s3_server


@pytest.fixture
def bucket(aws_env: S3Server, admin: Any) -> str:
    """A new, empty bucket (moto's state is shared by the whole process)."""
    name = f"lm-{uuid.uuid4().hex[:16]}"
    admin.create_bucket(Bucket=name)
    return name


@pytest.fixture
def put(admin: Any, bucket: str) -> Put:
    """Store an object in the test's bucket; returns its URI."""

    def store(key: str, body: bytes) -> str:
        admin.put_object(Bucket=bucket, Key=key, Body=body)
        return f"s3://{bucket}/{key}"

    return store


@pytest.fixture
def fast_failures(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(s3, "MAX_ATTEMPTS", 1)
    monkeypatch.setattr(s3, "CONNECT_TIMEOUT_S", 1.0)


def _files(root: Path) -> dict[str, bytes]:
    return {path.relative_to(root).as_posix(): path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file()}


def _error(call: object, *args: object, **kwargs: object) -> str:
    """The message of the LocalModeError that `call` raises; it must be one line."""
    with pytest.raises(LocalModeError) as caught:
        call(*args, **kwargs)  # type: ignore[operator]
    message = str(caught.value)
    assert "\n" not in message and "Traceback" not in message
    return message


def test_prefix_download_keeps_nested_paths_and_skips_markers(aws_env: S3Server, bucket: str, put: Put, tmp_path: Path) -> None:
    objects = {
        "data/train/a.csv": b"a" * 10,
        "data/train/sub/b.csv": b"b" * 20,
        "data/train/sub/deeper/c.bin": os.urandom(3000),
        "data/train/sub/": b"",  # a console's "folder"
        "data/train/empty/": b"",
        "data/train.csv": b"a sibling object, not under the prefix",
        "data/train-old/x.csv": b"a sibling prefix",
    }
    for key, body in objects.items():
        put(key, body)
    destination = tmp_path / "fresh" / "train"

    count = download_prefix(f"s3://{bucket}/data/train/", destination, endpoint_url=aws_env.endpoint_url, label="train")

    assert count == 3
    assert _files(destination) == {
        "a.csv": objects["data/train/a.csv"],
        "sub/b.csv": objects["data/train/sub/b.csv"],
        "sub/deeper/c.bin": objects["data/train/sub/deeper/c.bin"],
    }


def test_prefix_without_trailing_slash_is_a_directory(aws_env: S3Server, bucket: str, put: Put, tmp_path: Path) -> None:
    put("data/train/a.csv", b"in")
    put("data/train.csv", b"out")
    put("data/train-old/b.csv", b"out")

    assert download_prefix(f"s3://{bucket}/data/train", tmp_path / "d", endpoint_url=None, label="train") == 1

    assert _files(tmp_path / "d") == {"a.csv": b"in"}


def test_whole_bucket(aws_env: S3Server, bucket: str, put: Put, tmp_path: Path) -> None:
    put("top.txt", b"1")
    put("dir/nested.txt", b"2")

    for uri, destination in ((f"s3://{bucket}", tmp_path / "bare"), (f"s3://{bucket}/", tmp_path / "slash")):
        assert download_prefix(uri, destination, endpoint_url=aws_env.endpoint_url, label="all") == 2
        assert _files(destination) == {"top.txt": b"1", "dir/nested.txt": b"2"}


def test_single_object_uri(aws_env: S3Server, bucket: str, put: Put, tmp_path: Path) -> None:
    body = os.urandom(5000)
    uri = put("models/v1/model.tar.gz", body)
    put("models/v1/model.tar.gz.sha256", b"not this one")

    assert download_prefix(uri, tmp_path / "model", endpoint_url=aws_env.endpoint_url, label="model") == 1

    assert _files(tmp_path / "model") == {"model.tar.gz": body}


def test_many_pages(aws_env: S3Server, bucket: str, put: Put, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """More keys than one listing returns (S3's 1000, here 2) are all downloaded."""
    monkeypatch.setattr(s3, "PAGE_SIZE", 2)
    expected = {f"part-{index:02d}.txt": str(index).encode() for index in range(7)}
    for name, body in expected.items():
        put(f"parts/{name}", body)
    put("parts/", b"")

    assert download_prefix(f"s3://{bucket}/parts", tmp_path / "p", endpoint_url=None, label="parts") == 7

    assert _files(tmp_path / "p") == expected
    check_readable_prefix(f"s3://{bucket}/parts", endpoint_url=None)


def test_progress_for_the_whole_prefix_goes_to_stderr(
    aws_env: S3Server, bucket: str, put: Put, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    put("in/a", b"x" * 1024)
    put("in/b/c", b"y" * 1024)

    download_prefix(f"s3://{bucket}/in", tmp_path / "d", endpoint_url=None, label="channel train")

    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert lines[-1].startswith("channel train: 2.0 KB of 2.0 KB (100%), ")
    assert all(line.startswith("channel train: ") for line in lines)


def test_upload_progress(aws_env: S3Server, bucket: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "model.tar.gz"
    source.write_bytes(b"z" * 2048)

    upload_file(source, f"s3://{bucket}/out/model.tar.gz", endpoint_url=None, label="upload output/model.tar.gz")

    assert capsys.readouterr().err.splitlines()[-1].startswith("upload output/model.tar.gz: 2.0 KB of 2.0 KB (100%), ")


def test_upload_then_download_round_trip(aws_env: S3Server, bucket: str, tmp_path: Path) -> None:
    body = os.urandom(200_000)
    source = tmp_path / "model.tar.gz"
    source.write_bytes(body)
    uri = f"s3://{bucket}/jobs/job-1/output/model.tar.gz"

    upload_file(source, uri, endpoint_url=aws_env.endpoint_url, label="upload")

    assert download_prefix(uri, tmp_path / "one", endpoint_url=aws_env.endpoint_url, label="d") == 1
    assert (tmp_path / "one" / "model.tar.gz").read_bytes() == body
    assert download_prefix(f"s3://{bucket}/jobs", tmp_path / "all", endpoint_url=None, label="d") == 1
    assert (tmp_path / "all" / "job-1" / "output" / "model.tar.gz").read_bytes() == body


@pytest.mark.parametrize(
    ("keys", "uri_key"),
    [
        (["evil/ok.txt", "evil/../../escape.txt"], "evil/"),
        (["evil/ok.txt", "evil/a/../../../escape.txt"], "evil"),
        (["evil/ok.txt", "evil//tmp/escape.txt"], "evil/"),  # relative path "/tmp/escape.txt"
        (["evil/.."], "evil/.."),  # a single object whose basename is ".."
    ],
)
def test_keys_escaping_the_destination_are_refused(
    aws_env: S3Server, bucket: str, admin: Any, put: Put, tmp_path: Path, keys: list[str], uri_key: str
) -> None:
    for key in keys:
        put(key, b"payload")
    listed = {item["Key"] for item in admin.list_objects_v2(Bucket=bucket)["Contents"]}
    assert listed == set(keys)  # the server kept the keys as written
    destination = tmp_path / "deep" / "er" / "destination"
    uri = f"s3://{bucket}/{uri_key}"

    message = _error(download_prefix, uri, destination, endpoint_url=None, label="evil")

    assert message.startswith(f"{uri}: refusing key ")
    assert _files(tmp_path) == {}  # nothing written at all, inside or out


def test_empty_prefix(aws_env: S3Server, bucket: str, put: Put, tmp_path: Path) -> None:
    put("other/file", b"x")
    put("markers-only/", b"")
    put("markers-only/sub/", b"")

    for uri in (f"s3://{bucket}/nothing/here", f"s3://{bucket}/markers-only", f"s3://{bucket}/markers-only/"):
        assert _error(download_prefix, uri, tmp_path / "d", endpoint_url=None, label="x") == f"{uri} holds no objects"
        assert _error(check_readable_prefix, uri, endpoint_url=None) == f"{uri} holds no objects"
    assert not (tmp_path / "d").exists()


def test_empty_bucket(aws_env: S3Server, bucket: str, tmp_path: Path) -> None:
    uri = f"s3://{bucket}"
    assert _error(download_prefix, uri, tmp_path / "d", endpoint_url=None, label="x") == f"{uri} holds no objects"


def test_check_readable_prefix_passes(aws_env: S3Server, bucket: str, put: Put) -> None:
    put("data/", b"")
    put("data/a/b.csv", b"1")
    put("model.tar.gz", b"1")

    check_readable_prefix(f"s3://{bucket}/data", endpoint_url=aws_env.endpoint_url)
    check_readable_prefix(f"s3://{bucket}/data/", endpoint_url=None)
    check_readable_prefix(f"s3://{bucket}/model.tar.gz", endpoint_url=None)
    check_readable_prefix(f"s3://{bucket}", endpoint_url=None)


def test_missing_bucket(aws_env: S3Server, tmp_path: Path) -> None:
    name = f"lm-missing-{uuid.uuid4().hex[:12]}"
    source = tmp_path / "f"
    source.write_bytes(b"1")
    expected = f"bucket {name!r} does not exist"

    uri = f"s3://{name}/data"
    assert _error(download_prefix, uri, tmp_path / "d", endpoint_url=None, label="x") == f"{uri}: {expected}"
    assert _error(check_readable_prefix, uri, endpoint_url=None) == f"{uri}: {expected}"
    assert _error(check_bucket, f"s3://{name}/out", endpoint_url=None) == f"s3://{name}/out: {expected}"
    assert _error(upload_file, source, f"{uri}/f", endpoint_url=None, label="u") == f"{uri}/f: {expected}"
    assert not (tmp_path / "d").exists()


def test_check_bucket_passes(aws_env: S3Server, bucket: str) -> None:
    check_bucket(f"s3://{bucket}", endpoint_url=aws_env.endpoint_url)
    check_bucket(f"s3://{bucket}/jobs/", endpoint_url=None)


def test_unreachable_endpoint_fails_fast(aws_env: S3Server, tmp_path: Path, fast_failures: None) -> None:
    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    source = tmp_path / "f"
    source.write_bytes(b"1")
    uri = "s3://any-bucket/data"
    started = time.monotonic()

    messages = [
        _error(download_prefix, uri, tmp_path / "d", endpoint_url=closed, label="x"),
        _error(check_readable_prefix, uri, endpoint_url=closed),
        _error(check_bucket, uri, endpoint_url=closed),
        _error(upload_file, source, uri, endpoint_url=closed, label="u"),
    ]

    assert time.monotonic() - started < 10
    for message in messages:
        assert message == f"{uri}: cannot reach the S3 endpoint {closed}: [Errno 111] Connection refused"


def test_default_retries_and_timeouts() -> None:
    """Users get a failure within seconds too, not botocore's 60 s connect timeout."""
    assert s3.CONNECT_TIMEOUT_S <= 10
    assert 1 <= s3.MAX_ATTEMPTS <= 5


def test_invalid_endpoint_url(aws_env: S3Server) -> None:
    message = _error(check_bucket, "s3://b", endpoint_url="not a url")
    assert message.startswith("s3://b: S3 endpoint 'not a url': ")


def test_no_credentials(aws_env: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    uri = "s3://any-bucket/data"

    for message in (
        _error(download_prefix, uri, tmp_path / "d", endpoint_url=None, label="x"),
        _error(check_bucket, uri, endpoint_url=None),
    ):
        assert message.startswith(f"{uri}: no usable AWS credentials (Unable to locate credentials); ")


def _as_iam_user(server: S3Server, monkeypatch: pytest.MonkeyPatch, policy: dict[str, Any] | None) -> None:
    """Switch to a new IAM user (with `policy` inline, if any) and make moto enforce IAM.

    moto's settings are state of this process, shared with every test: monkeypatch restores them.
    """
    import json

    import boto3
    from moto import settings as moto_settings

    iam = boto3.session.Session().client(
        "iam",
        endpoint_url=server.endpoint_url,
        region_name=server.region,
        aws_access_key_id=server.access_key,
        aws_secret_access_key=server.secret_key,
    )
    user = f"reader-{uuid.uuid4().hex[:12]}"
    iam.create_user(UserName=user)
    if policy is not None:
        iam.put_user_policy(UserName=user, PolicyName="policy", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=user)["AccessKey"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
    monkeypatch.setattr(moto_settings, "INITIAL_NO_AUTH_ACTION_COUNT", 0)


def test_access_denied(
    aws_env: S3Server, bucket: str, put: Put, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    put("data/a.csv", b"1")
    _as_iam_user(aws_env, monkeypatch, policy=None)
    source = tmp_path / "f"
    source.write_bytes(b"1")
    uri = f"s3://{bucket}/data"

    messages = [
        _error(download_prefix, uri, tmp_path / "d", endpoint_url=None, label="x"),
        _error(check_readable_prefix, uri, endpoint_url=None),
        _error(check_bucket, uri, endpoint_url=None),
        _error(upload_file, source, f"{uri}/b.csv", endpoint_url=None, label="u"),
    ]

    assert messages[:3] == [
        f"{uri}: access denied (ListObjectsV2); do your credentials allow it?",
        f"{uri}: access denied (ListObjectsV2); do your credentials allow it?",
        f"{uri}: access denied (HeadBucket); do your credentials allow it?",
    ]
    assert messages[3] == f"{uri}/b.csv: access denied (PutObject); do your credentials allow it?"


def test_listing_allowed_but_reading_denied_fails_the_check(
    aws_env: S3Server, bucket: str, put: Put, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`check_readable_prefix` asks for s3:GetObject too, so the job does not start only to fail.

    The user may list the bucket but read no object. Which request a library version sends first
    to read an object (HEAD or a ranged GET) and which IAM action an S3 server checks for a
    listing (AWS: s3:ListBucket; some moto releases: s3:ListObjectsV2) vary, so the policy
    allows every List action and the assertion accepts either read request: what must hold is
    that the listing succeeded, the read was refused, and the message names the read.
    """
    put("data/a.csv", b"1")
    list_only = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:List*", "Resource": f"arn:aws:s3:::{bucket}"}],
    }
    _as_iam_user(aws_env, monkeypatch, policy=list_only)
    uri = f"s3://{bucket}/data"
    denied_read = re.compile(rf"{re.escape(uri)}: access denied \((HeadObject|GetObject)\); do your credentials allow it\?")

    check = _error(check_readable_prefix, uri, endpoint_url=None)
    download = _error(download_prefix, uri, tmp_path / "d", endpoint_url=None, label="x")

    assert denied_read.fullmatch(check), check
    assert denied_read.fullmatch(download), download
    assert _files(tmp_path) == {}
    # Listing alone was allowed: an empty prefix is still reported as empty, not as denied.
    assert _error(check_readable_prefix, f"s3://{bucket}/nothing-here", endpoint_url=None) == (
        f"s3://{bucket}/nothing-here holds no objects"
    )


@pytest.mark.parametrize("uri", ["s3://", "s3:///key", "https://bucket/key", "bucket/key"])
def test_bad_uris(uri: str, tmp_path: Path) -> None:
    for message in (
        _error(download_prefix, uri, tmp_path / "d", endpoint_url=None, label="x"),
        _error(check_readable_prefix, uri, endpoint_url=None),
        _error(check_bucket, uri, endpoint_url=None),
    ):
        assert repr(uri) in message


def test_upload_needs_an_object_key_and_a_file(aws_env: S3Server, bucket: str, tmp_path: Path) -> None:
    source = tmp_path / "f"
    source.write_bytes(b"1")
    for uri in (f"s3://{bucket}", f"s3://{bucket}/dir/"):
        message = _error(upload_file, source, uri, endpoint_url=None, label="u")
        assert message == f"cannot upload {source} to {uri}: the URI names no object key"
    message = _error(upload_file, tmp_path / "missing", f"s3://{bucket}/k", endpoint_url=None, label="u")
    assert message == f"cannot upload {tmp_path / 'missing'} to s3://{bucket}/k: No such file or directory"


def test_boto3_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "boto3", None)
    source = tmp_path / "f"
    source.write_bytes(b"1")
    expected = "s3:// channels and outputs need boto3: pip install 'container-runtime[s3]'"

    assert _error(download_prefix, "s3://b/p", tmp_path / "d", endpoint_url=None, label="x") == expected
    assert _error(upload_file, source, "s3://b/k", endpoint_url=None, label="u") == expected
    assert _error(check_readable_prefix, "s3://b/p", endpoint_url=None) == expected
    assert _error(check_bucket, "s3://b", endpoint_url=None) == expected


def test_import_is_cheap() -> None:
    """Importing the module imports neither boto3 nor botocore."""
    code = "import sys, container_runtime.local.s3; print(sorted(m for m in sys.modules if m.startswith(('boto', 's3transfer'))))"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"
