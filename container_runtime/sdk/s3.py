"""`S3Uploader` and `S3Downloader`, as `sagemaker.s3` has them, so a notebook's copies of
artifacts (`aws s3 cp {estimator.model_data} ...`) have a local counterpart.

`s3://` URIs go to the session's S3-compatible server (`S3_ENDPOINT_URL`, a LocalSession's
`s3_endpoint_url`), or to S3 itself where the environment points boto3 there. Uploads with no
server configured go to local mode's data store, as `Session.upload_data` does. Local paths
and `file://` URIs (what local jobs' `model_data` is) are copied.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from urllib.parse import unquote, urlparse

from container_runtime.local.errors import LocalModeError
from container_runtime.sdk.arguments import log_ignored
from container_runtime.sdk.session import Session


def _local(uri: str) -> Path:
    return Path(unquote(urlparse(uri).path)) if uri.startswith("file://") else Path(uri).expanduser()


class S3Downloader:
    """Copies objects (or local files) to a local dir."""

    @staticmethod
    def download(s3_uri: str, local_path: str, kms_key: str | None = None,
                 sagemaker_session: Session | None = None) -> list[str]:
        """Every object under `s3_uri` (a prefix, one object, a local file or dir) into `local_path`;
        returns the local paths written."""
        log_ignored("S3Downloader.download", {"kms_key": kms_key})
        destination = Path(local_path).expanduser()
        if s3_uri.startswith("s3://"):
            from container_runtime.local.s3 import download_prefix

            session = sagemaker_session or Session()
            started = time.time() - 1.0  # downloaded files get the time of their download
            download_prefix(s3_uri, destination, endpoint_url=session.s3_endpoint(), label=f"download {s3_uri}")
            return sorted(str(path) for path in destination.rglob("*")
                          if path.is_file() and path.stat().st_mtime >= started)
        source = _local(s3_uri)
        if source.is_dir():
            copied = [destination / path.relative_to(source) for path in source.rglob("*") if path.is_file()]
            shutil.copytree(source, destination, dirs_exist_ok=True)
            return sorted(map(str, copied))
        if source.is_file():
            destination.mkdir(parents=True, exist_ok=True)
            target = destination / source.name
            shutil.copy2(source, target)
            return [str(target)]
        raise LocalModeError(f"S3Downloader.download: no such file or directory {str(source)!r}")


class S3Uploader:
    """Copies a local file or dir to an `s3://` URI (or a local one)."""

    @staticmethod
    def upload(local_path: str, desired_s3_uri: str, kms_key: str | None = None,
               sagemaker_session: Session | None = None) -> str:
        """`local_path` (a file or a dir's files) under `desired_s3_uri`; returns where it went."""
        log_ignored("S3Uploader.upload", {"kms_key": kms_key})
        session = sagemaker_session or Session()
        if desired_s3_uri.startswith("s3://"):
            bucket, _, prefix = desired_s3_uri[len("s3://"):].partition("/")
            return session.upload_data(local_path, bucket=bucket, key_prefix=prefix)
        target = _local(desired_s3_uri)
        source = Path(local_path).expanduser()
        if source.is_dir():
            shutil.copytree(source, target, dirs_exist_ok=True)
            return target.resolve().as_uri()
        if source.is_file():
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / source.name)
            return (target / source.name).resolve().as_uri()
        raise LocalModeError(f"S3Uploader.upload: no such file or directory {str(source)!r}")
