"""Writing a transform job's answers: `<name>.out` per input file, in input order.

Answers go to `<name>.out.partial` and are renamed when the file's last answer is in, so an
output that exists is whole; a failed file leaves nothing. With `assemble_with="Line"` each
answer ends with a newline; otherwise answers are written as they came. An `s3://` output is
staged on disk and uploaded file by file, as each completes.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import BinaryIO

from container_runtime.local.errors import LocalModeError
from container_runtime.local.transform.inputs import is_s3
from container_runtime.local.transform.options import LINE

SUFFIX = ".out"
PARTIAL = ".partial"


def check_output(output_path: str, *, s3_endpoint_url: str | None) -> None:
    """Refuse an unusable output before the endpoint starts: a bucket that is not there, a file in the way."""
    if is_s3(output_path):
        from container_runtime.local.s3 import check_bucket

        check_bucket(output_path, endpoint_url=s3_endpoint_url)
        return
    directory = Path(output_path).expanduser()
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise LocalModeError(f"output_path {output_path!r}: cannot create it: {error.strerror or error}") from None


class OutputWriter:
    """One input file's output at a time: `open`, `write` each answer in order, then `commit` or `abandon`."""

    def __init__(self, output_path: str, staging: Path, *, assemble_with: str | None,
                 s3_endpoint_url: str | None) -> None:
        self.output_path = output_path
        self.to_s3 = is_s3(output_path)
        self.directory = staging if self.to_s3 else Path(output_path).expanduser()
        self.assemble_with = assemble_with
        self.s3_endpoint_url = s3_endpoint_url
        self._file: BinaryIO | None = None
        self._name = ""

    def open(self, name: str) -> None:
        self._name = name
        partial = self._local_target(name).with_name(self._local_target(name).name + PARTIAL)
        try:
            partial.parent.mkdir(parents=True, exist_ok=True)
            self._file = partial.open("wb")
        except OSError as error:
            raise LocalModeError(f"cannot write {partial}: {error.strerror or error}") from None

    def write(self, answer: bytes) -> None:
        assert self._file is not None
        if self.assemble_with == LINE and not answer.endswith(b"\n"):
            answer += b"\n"
        try:
            self._file.write(answer)
        except OSError as error:
            raise LocalModeError(f"cannot write {self._file.name}: {error.strerror or error}") from None

    def commit(self) -> str:
        """Make the file's output whole; returns where it is (a path or an s3:// URI)."""
        assert self._file is not None
        partial = Path(self._file.name)
        target = self._local_target(self._name)
        self._file.close()
        self._file = None
        os.replace(partial, target)
        if not self.to_s3:
            return str(target)
        from container_runtime.local.s3 import upload_file

        uri = f"{self.output_path.rstrip('/')}/{self._name}{SUFFIX}"
        upload_file(target, uri, endpoint_url=self.s3_endpoint_url, label=f"upload {self._name}{SUFFIX}")
        target.unlink()
        return uri

    def abandon(self) -> None:
        """Drop the file being written (it would be incomplete); committed files stay."""
        if self._file is None:
            return
        partial = Path(self._file.name)
        self._file.close()
        self._file = None
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()

    def _local_target(self, name: str) -> Path:
        return self.directory / f"{name}{SUFFIX}"
