"""Downloading the user's code archive from S3.

boto3 is optional (the `s3` extra) and imported only when an `s3://` URI is downloaded:
importing it costs a noticeable part of a second that a job with local code should not pay.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from container_runtime.errors import ConfigError, MissingDependencyError, UserCodeError

__all__ = ["download_s3_object", "parse_s3_uri"]

_SCHEME = "s3://"


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """Split `s3://bucket/key` into `(bucket, key)`.

    The key is everything after the first `/` following the bucket, unchanged (S3 keys
    may contain `?`, `#` and repeated slashes). A URI that is not `s3://`, or has no
    bucket or no key, raises `ConfigError` naming the URI.
    """
    if uri[: len(_SCHEME)].lower() != _SCHEME:
        raise ConfigError(uri, "not an S3 URI; expected s3://bucket/key")
    bucket, _, key = uri[len(_SCHEME) :].partition("/")
    if not bucket:
        raise ConfigError(uri, "S3 URI has no bucket; expected s3://bucket/key")
    if not key:
        raise ConfigError(uri, "S3 URI has no object key; expected s3://bucket/key")
    return bucket, key


def download_s3_object(uri: str, destination: Path, *, endpoint_url: str | None, region: str | None) -> Path:
    """Download the object `uri` to the file `destination` and return `destination`.

    Credentials come from boto3's usual chain (environment, shared files, container or
    instance role). `endpoint_url` (e.g. `$S3_ENDPOINT_URL`) selects an S3-compatible
    server; `region` may be None to let boto3 decide. Failures of the request raise a
    one-line `UserCodeError` naming the URI and the error code.
    """
    bucket, key = parse_s3_uri(uri)
    try:
        import boto3  # type: ignore[import-untyped,unused-ignore]
        import boto3.exceptions  # type: ignore[import-untyped,unused-ignore]
        from botocore.exceptions import (  # type: ignore[import-untyped,unused-ignore]
            BotoCoreError,
            ClientError,
        )
    except ImportError as error:
        raise MissingDependencyError("boto3", "s3", "Downloading user code from s3://") from error

    destination = Path(destination)
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UserCodeError(f"{uri}: cannot create {destination.parent}: {error}") from error

    try:
        session = boto3.session.Session()
        client = session.client("s3", region_name=region, endpoint_url=endpoint_url)
    except ValueError as error:  # botocore's "Invalid endpoint: ..."
        raise ConfigError("S3 endpoint URL", f"{endpoint_url!r}: {_one_line(str(error))}") from error
    except BotoCoreError as error:  # e.g. ProfileNotFound
        raise UserCodeError(_describe(uri, type(error).__name__, str(error))) from error

    try:
        client.download_file(bucket, key, str(destination))
    except ClientError as error:
        raise UserCodeError(_describe_client_error(uri, client, bucket, error)) from error
    except (BotoCoreError, boto3.exceptions.Boto3Error) as error:
        # NoCredentialsError, EndpointConnectionError, timeouts, retries exhausted, ...
        raise UserCodeError(_describe(uri, type(error).__name__, str(error))) from error
    return destination


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _describe(uri: str, code: str, detail: str) -> str:
    detail = _one_line(detail)
    return f"{uri}: {code}: {detail}" if detail else f"{uri}: {code}"


def _describe_client_error(uri: str, client: Any, bucket: str, error: Any) -> str:
    """`uri: Code: message (Operation, HTTP status)` for a botocore ClientError.

    `download_file` starts with a HEAD request, whose error responses have no body: botocore
    then reports the bare status ("404", "403"). Those are named as S3 would name them.
    """
    response: dict[str, Any] = getattr(error, "response", None) or {}
    details: dict[str, Any] = response.get("Error") or {}
    code = str(details.get("Code") or "UnknownError")
    message = str(details.get("Message") or "")
    status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
    operation = getattr(error, "operation_name", None)

    if code in ("404", "NotFound", "NoSuchKey", "NoSuchBucket"):
        if code == "NoSuchKey":
            bucket_exists: bool | None = True
        elif code == "NoSuchBucket":
            bucket_exists = False
        else:
            bucket_exists = _bucket_exists(client, bucket)
        if bucket_exists is False:
            code, message = "NoSuchBucket", f"bucket {bucket!r} does not exist"
        elif bucket_exists:
            code, message = "NoSuchKey", "no object with this key"
        else:
            code, message = "NotFound", "the bucket or the object does not exist"
    elif code in ("403", "Forbidden", "AccessDenied"):
        code = "AccessDenied"
        message = (
            message if message not in ("", "Forbidden") else "access denied"
        ) + "; does the job's role allow s3:GetObject on it?"

    where = ", ".join(part for part in (operation, f"HTTP {status}" if status else None) if part)
    text = _describe(uri, code, message)
    return f"{text} ({where})" if where else text


def _bucket_exists(client: Any, bucket: str) -> bool | None:
    """True or False when a HEAD on the bucket says so; None when it cannot tell."""
    from botocore.exceptions import ClientError  # type: ignore[import-untyped,unused-ignore]

    try:
        client.head_bucket(Bucket=bucket)
    except ClientError as error:
        code = str((error.response.get("Error") or {}).get("Code"))
        return False if code in ("404", "NoSuchBucket", "NotFound") else None
    except Exception:  # noqa: BLE001 - only refines an error message
        return None
    return True
