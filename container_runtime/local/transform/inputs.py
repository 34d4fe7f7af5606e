"""Which files a transform job reads: one file, every file under a directory, or an `s3://` prefix.

An S3 prefix is downloaded into the job's staging dir first (with local mode's S3 helpers, so
its errors read the same as a training channel's); each file keeps its path relative to the
prefix, which names its output (`<relative path>.out`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

from container_runtime.local.errors import LocalModeError


@dataclass(frozen=True)
class InputFile:
    """`name`: the path relative to the input, with `/`; its output is `<name>.out`. `label`
    names it in messages as the user gave it (a path or an s3:// URI)."""

    name: str
    path: Path
    label: str = ""

    def __str__(self) -> str:
        return self.label or str(self.path)


def is_s3(uri: str) -> bool:
    return uri[:5].lower() == "s3://"


def check_input(data: str) -> None:
    """Refuse a missing local input before the endpoint starts (S3 is checked when downloaded)."""
    if is_s3(data):
        if not urlparse(data).netloc:
            raise LocalModeError(f"data {data!r} names no bucket; expected s3://bucket/prefix")
        return
    local_inputs(data)


def discover(data: str, staging: Path, *, s3_endpoint_url: str | None) -> list[InputFile]:
    """The input files in order: sorted by relative path, so runs are repeatable."""
    if not is_s3(data):
        return local_inputs(data)
    from container_runtime.local.s3 import download_prefix

    download_prefix(data, staging, endpoint_url=s3_endpoint_url, label="download input")
    files = local_inputs(str(staging))
    if len(files) == 1 and data.rstrip("/").endswith("/" + files[0].name):
        return [InputFile(files[0].name, files[0].path, data)]  # the URI names one object
    return [InputFile(item.name, item.path, f"{data.rstrip('/')}/{item.name}") for item in files]


def local_inputs(data: str) -> list[InputFile]:
    text = unquote(urlparse(data).path) if data.startswith("file://") else data
    if "://" in text:
        raise LocalModeError(f"data {data!r}: give a local file or directory, file:// or s3://")
    path = Path(text).expanduser()
    if path.is_file():
        return [InputFile(path.name, path)]
    if not path.is_dir():
        raise LocalModeError(f"data {data!r}: no such file or directory")
    files = sorted(item for item in path.rglob("*") if item.is_file())
    if not files:
        raise LocalModeError(f"data {data!r}: the directory holds no files")
    return [InputFile(item.relative_to(path).as_posix(), item) for item in files]
