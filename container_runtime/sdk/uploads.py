"""`Session.upload_data`: copy files into local mode's data store and name them with a `file://`
URI, or upload them to the S3-compatible server `S3_ENDPOINT_URL` names and return `s3://`.

The store is `<local mode home>/data/<bucket>/<key prefix>/`, so the URI a notebook prints
mirrors the S3 key it would have had, and channels given that URI read the copied files.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path, PurePosixPath

from container_runtime.local.errors import LocalModeError

#: S3's bucket names: 3-63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit.
BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


def check_destination(bucket: str, key_prefix: str) -> str:
    """The key prefix without surrounding slashes; a bucket S3 would refuse, or a prefix that climbs
    out of its bucket (`..`), is a one-line error."""
    if not BUCKET.match(bucket):
        raise LocalModeError(f"upload_data: bucket {bucket!r}: use 3-63 lowercase letters, digits, '.' and '-'")
    prefix = key_prefix.strip("/")
    if ".." in PurePosixPath(prefix).parts:
        raise LocalModeError(f"upload_data: key_prefix {key_prefix!r}: '..' is not allowed")
    return prefix


def files_to_upload(path: str | Path) -> tuple[Path, list[tuple[Path, str]]]:
    """The source (checked) and each file with its key below the prefix; a dir keeps its tree."""
    source = Path(path).expanduser()
    if source.is_file():
        return source, [(source, source.name)]
    if source.is_dir():
        files = sorted(item for item in source.rglob("*") if item.is_file())
        return source, [(item, item.relative_to(source).as_posix()) for item in files]
    raise LocalModeError(f"upload_data: no such file or directory {str(source)!r}")


def copy_to_store(path: str | Path, store: Path, bucket: str, key_prefix: str) -> str:
    """Copy into the local data store; returns the `file://` URI of the copied dir or file."""
    prefix = check_destination(bucket, key_prefix)
    source, files = files_to_upload(path)
    target_dir = store / bucket / prefix if prefix else store / bucket
    for item, key in files:
        target = target_dir / key
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(item, target)
    located = target_dir / source.name if source.is_file() else target_dir
    return located.resolve().as_uri()


def upload_to_s3(path: str | Path, bucket: str, key_prefix: str, endpoint_url: str) -> str:
    """Upload to `s3://bucket/key_prefix/...` (the bucket is made when missing); returns the URI."""
    from container_runtime.local.s3 import ensure_bucket, upload_file

    prefix = check_destination(bucket, key_prefix)
    source, files = files_to_upload(path)
    base = f"s3://{bucket}/{prefix}" if prefix else f"s3://{bucket}"
    ensure_bucket(base, endpoint_url=endpoint_url)
    for item, key in files:
        upload_file(item, f"{base}/{key}", endpoint_url=endpoint_url, label=f"upload {item.name}")
    return f"{base}/{source.name}" if source.is_file() else base
