"""S3 channels and outputs for local mode: download a prefix, upload a file, check before a job.

boto3 is optional (the `s3` extra) and imported only here, inside the functions, so local jobs
never pay for it. Every failure becomes one `LocalModeError` line that names the URI: a user
reads "s3://b/p: bucket 'b' does not exist", not a botocore traceback.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath
from typing import Any, NamedTuple

from container_runtime.local.errors import LocalModeError
from container_runtime.local.progress import TransferProgress

__all__ = ["check_bucket", "check_readable_prefix", "download_prefix", "upload_file"]

_SCHEME = "s3://"
_MISSING_BOTO3 = "s3:// channels and outputs need boto3: pip install 'container-runtime[s3]'"

#: A stopped or wrong endpoint should fail in seconds, not after botocore's 60 s default.
CONNECT_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 60.0
#: Attempts per request, the first included (botocore's "standard" retry mode).
MAX_ATTEMPTS = 3
#: Keys per listing request; S3 returns at most 1000.
PAGE_SIZE = 1000


class _Object(NamedTuple):
    key: str
    size: int
    #: Where the object goes, relative to the destination directory.
    relative: PurePosixPath


def download_prefix(uri: str, destination: Path, *, endpoint_url: str | None, label: str) -> int:
    """Download every object under s3://bucket/prefix into destination (created), keeping the relative key paths.

    Returns the number of files. A URI naming a single object downloads that object into
    destination/<basename>. Every key is checked before anything is written.
    """
    bucket, key = _parse(uri)
    client = _client(uri, endpoint_url)
    objects = _resolve(client, uri, bucket, key)
    if not objects:
        raise LocalModeError(f"{uri} holds no objects")
    destination = Path(destination)
    targets = [_target(uri, destination, item) for item in objects]  # all checked before any is written
    progress = TransferProgress(label, sum(item.size for item in objects))
    for item, target in zip(objects, targets, strict=True):
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise LocalModeError(f"{uri}: cannot create {target.parent}: {error.strerror or error}") from None
        _call(uri, client, client.download_file, bucket, item.key, str(target), Callback=progress)
    progress.finish()
    return len(objects)


def upload_file(source: Path, uri: str, *, endpoint_url: str | None, label: str) -> None:
    """Upload the file `source` to the object `uri`, showing its progress under `label`."""
    bucket, key = _parse(uri)
    if not key or key.endswith("/"):
        raise LocalModeError(f"cannot upload {source} to {uri}: the URI names no object key")
    try:
        size = Path(source).stat().st_size
    except OSError as error:
        raise LocalModeError(f"cannot upload {source} to {uri}: {error.strerror or error}") from None
    client = _client(uri, endpoint_url)
    progress = TransferProgress(label, size)
    _call(uri, client, client.upload_file, str(source), bucket, key, Callback=progress)
    progress.finish()


def check_readable_prefix(uri: str, *, endpoint_url: str | None) -> None:
    """Fail fast (before a job starts) when the prefix is unreadable or holds no object."""
    bucket, key = _parse(uri)
    client = _client(uri, endpoint_url)
    first = _first_object(client, uri, bucket, key)
    if first is None:
        raise LocalModeError(f"{uri} holds no objects")
    # Listing needs s3:ListBucket, downloading s3:GetObject: ask for the second one too.
    _call(uri, client, client.head_object, Bucket=bucket, Key=first["Key"])


def check_bucket(uri: str, *, endpoint_url: str | None) -> None:
    """Fail fast when the output bucket does not exist or cannot be reached."""
    bucket, _ = _parse(uri)
    client = _client(uri, endpoint_url)
    _call(uri, client, client.head_bucket, Bucket=bucket)


def ensure_bucket(uri: str, *, endpoint_url: str | None) -> None:
    """Create the URI's bucket unless it exists (as the SDK's `default_bucket()` does)."""
    bucket, _ = _parse(uri)
    client = _client(uri, endpoint_url)
    from botocore.exceptions import BotoCoreError, ClientError  # type: ignore[import-untyped,unused-ignore]

    try:
        client.head_bucket(Bucket=bucket)
        return
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket", "NotFound"):
            raise LocalModeError(_describe(uri, client, error)) from None
    except BotoCoreError as error:
        raise LocalModeError(_describe(uri, client, error)) from None
    _call(uri, client, client.create_bucket, Bucket=bucket)


def _parse(uri: str) -> tuple[str, str]:
    """`s3://bucket/key` -> (bucket, key); the key may be empty (the whole bucket)."""
    if uri[: len(_SCHEME)].lower() != _SCHEME:
        raise LocalModeError(f"{uri!r} is not an s3:// URI")
    bucket, _, key = uri[len(_SCHEME) :].partition("/")
    if not bucket:
        raise LocalModeError(f"{uri!r} names no bucket; expected s3://bucket/prefix")
    return bucket, key


def _client(uri: str, endpoint_url: str | None) -> Any:
    """An S3 client for `endpoint_url` and the region, credentials and settings of the environment now."""
    try:
        import boto3  # type: ignore[import-untyped,unused-ignore]  # noqa: F401 - the error to report early
    except ImportError:
        raise LocalModeError(_MISSING_BOTO3) from None
    from botocore.exceptions import BotoCoreError  # type: ignore[import-untyped,unused-ignore]

    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    # A client costs ~0.1 s (the service model is parsed anew per session); a job makes several.
    # The key holds everything a client depends on, so changed credentials make a new one.
    environment = tuple(sorted((name, value) for name, value in os.environ.items() if name.startswith("AWS_")))
    settings = (CONNECT_TIMEOUT_S, READ_TIMEOUT_S, MAX_ATTEMPTS)
    try:
        return _new_client(endpoint_url or None, region, environment, settings)
    except ValueError as error:  # botocore's "Invalid endpoint: ..."
        raise LocalModeError(f"{uri}: S3 endpoint {endpoint_url!r}: {_one_line(str(error))}") from None
    except BotoCoreError as error:  # e.g. ProfileNotFound
        raise LocalModeError(f"{uri}: {_one_line(str(error))}") from None


@functools.lru_cache(maxsize=8)
def _new_client(
    endpoint_url: str | None, region: str, environment: tuple[tuple[str, str], ...], settings: tuple[float, float, int]
) -> Any:
    """A client from a fresh session, which reads credentials from the environment it is given as key."""
    import boto3  # type: ignore[import-untyped,unused-ignore]
    from botocore.config import Config  # type: ignore[import-untyped,unused-ignore]

    connect_timeout, read_timeout, max_attempts = settings
    config = Config(
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        retries={"total_max_attempts": max_attempts, "mode": "standard"},
    )
    return boto3.session.Session().client("s3", endpoint_url=endpoint_url, region_name=region, config=config)


def _resolve(client: Any, uri: str, bucket: str, key: str) -> list[_Object]:
    """The objects `uri` names: the object `key` itself if there is one, else those under `key/`.

    Like the SageMaker SDK's local mode, `s3://b/data` is the object `data` when it exists and
    otherwise the "directory" `data/` (never `data.csv` or `data-old/`).
    """
    if key and not key.endswith("/"):
        # `key` sorts before every other key it prefixes, so the first one listed tells.
        first = _first_object(client, uri, bucket, key, skip_markers=False, page_size=1)
        if first is not None and first["Key"] == key:
            return [_Object(key, int(first.get("Size", 0)), PurePosixPath(key.rsplit("/", 1)[-1]))]
        key += "/"
    return [
        _Object(item["Key"], int(item.get("Size", 0)), PurePosixPath(item["Key"][len(key) :]))
        for item in _list(client, uri, bucket, key)
        if not item["Key"].endswith("/")  # "directory" markers made by consoles and tools
    ]


def _first_object(
    client: Any, uri: str, bucket: str, prefix: str, *, skip_markers: bool = True, page_size: int | None = None
) -> dict[str, Any] | None:
    """The first listed object under `prefix` (S3 lists keys in order), or None; lists no further."""
    for item in _list(client, uri, bucket, prefix, page_size=page_size):
        if not (skip_markers and item["Key"].endswith("/")):
            return item
    return None


def _list(
    client: Any, uri: str, bucket: str, prefix: str, *, page_size: int | None = None
) -> Iterator[dict[str, Any]]:
    """Every listed object (a dict with Key and Size) under `prefix`, a page (request) at a time."""
    pages = client.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=prefix, PaginationConfig={"PageSize": page_size or PAGE_SIZE}
    )
    iterator = iter(pages)
    while True:
        page = _call(uri, client, next, iterator, None)
        if page is None:
            return
        yield from page.get("Contents") or ()


def _target(uri: str, destination: Path, item: _Object) -> Path:
    """Where `item` goes; refuses keys that would land outside `destination` (`..`, absolute)."""
    relative = item.relative
    if relative.is_absolute() or ".." in relative.parts or not relative.parts:
        raise LocalModeError(f"{uri}: refusing key {item.key!r}: it would be written outside {destination}")
    return destination / relative


def _call(uri: str, client: Any, request: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """`request(*args, **kwargs)`, with any S3 or connection failure turned into one LocalModeError line."""
    import boto3.exceptions  # type: ignore[import-untyped,unused-ignore]
    from botocore.exceptions import BotoCoreError, ClientError  # type: ignore[import-untyped,unused-ignore]

    try:
        return request(*args, **kwargs)
    except (ClientError, BotoCoreError, boto3.exceptions.Boto3Error) as error:
        raise LocalModeError(_describe(uri, client, error)) from None
    except OSError as error:  # writing a downloaded file, reading one to upload
        where = f" {error.filename}" if error.filename else ""
        raise LocalModeError(f"{uri}:{where} {error.strerror or error}") from None


def _describe(uri: str, client: Any, error: BaseException) -> str:
    from botocore.exceptions import (  # type: ignore[import-untyped,unused-ignore]
        ClientError,
        ConnectTimeoutError,
        EndpointConnectionError,
        NoCredentialsError,
        PartialCredentialsError,
    )

    # boto3 wraps upload failures (S3UploadFailedError) around the ClientError that caused them.
    cause: BaseException | None = error
    while cause is not None and not isinstance(cause, (ClientError, EndpointConnectionError)):
        cause = cause.__cause__ or cause.__context__
    error = cause or error
    bucket = _parse(uri)[0]
    if isinstance(error, ClientError):
        details = error.response.get("Error") or {}
        code = str(details.get("Code") or "UnknownError")
        message = _one_line(str(details.get("Message") or ""))
        operation = getattr(error, "operation_name", "")
        if code == "NoSuchBucket" or (code in ("404", "NotFound") and operation == "HeadBucket"):
            return f"{uri}: bucket {bucket!r} does not exist"
        if code in ("NoSuchKey", "404", "NotFound"):
            return f"{uri}: no such object"
        if code in ("AccessDenied", "403", "Forbidden", "AllAccessDisabled"):
            return f"{uri}: access denied ({operation}); do your credentials allow it?"
        return f"{uri}: {code}: {message}" if message else f"{uri}: {code} ({operation})"
    if isinstance(error, EndpointConnectionError):
        endpoint = getattr(client.meta, "endpoint_url", None) or "?"
        # botocore's text repeats the request's URL; the socket's reason is what helps.
        reason = re.search(r"\[Errno -?\d+\] [^'\">]*", str(error.kwargs.get("error", "")))
        detail = "timed out" if isinstance(error, ConnectTimeoutError) else reason[0].strip() if reason else "failed"
        return f"{uri}: cannot reach the S3 endpoint {endpoint}: {detail}"
    if isinstance(error, NoCredentialsError | PartialCredentialsError):
        return (
            f"{uri}: no usable AWS credentials ({_one_line(str(error))}); "
            "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or AWS_PROFILE"
        )
    return f"{uri}: {type(error).__name__}: {_one_line(str(error))}"


def _one_line(text: str) -> str:
    return " ".join(text.split())
