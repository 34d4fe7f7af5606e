"""Where a finished job's artifacts and record go: its own job dir (the default), another local
dir, or an `s3://` prefix, laid out as SageMaker lays out `<output_path>/<job name>/`.

The record (`describe.json`) is written last, so whatever reads it finds the artifacts in place.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from container_runtime.local.describe import write_description
from container_runtime.local.errors import LocalModeError
from container_runtime.local.layout import JobLayout

ARTIFACTS = {"model.tar.gz": "ModelArtifacts", "output.tar.gz": "OutputArtifacts"}


class OutputLocation:
    """`<base>/output/model.tar.gz`, `<base>/output/output.tar.gz`, `<base>/logs/`, `<base>/describe.json`."""

    def __init__(self, base_uri: str, endpoint_url: str | None) -> None:
        self.base_uri = base_uri.rstrip("/")
        self.endpoint_url = endpoint_url

    @property
    def is_s3(self) -> bool:
        return self.base_uri.startswith("s3://")

    @classmethod
    def for_job(cls, output_path: str | None, jobs_dir: Path, name: str, endpoint_url: str | None) -> OutputLocation:
        if output_path is None:
            return cls(str(jobs_dir / name), endpoint_url)
        if output_path.startswith("s3://"):
            from container_runtime.local.s3 import check_bucket

            check_bucket(output_path, endpoint_url=endpoint_url)
            return cls(f"{output_path.rstrip('/')}/{name}", endpoint_url)
        if "://" in output_path and not output_path.startswith("file://"):
            raise LocalModeError(f"output path {output_path!r}: only local paths, file:// and s3:// are supported")
        base = Path(output_path.removeprefix("file://")).expanduser().resolve() / name
        if base.exists():
            raise LocalModeError(f"output dir {base} already exists: choose another job name")
        return cls(str(base), endpoint_url)

    def deliver(self, layout: JobLayout, master: str) -> dict[str, Any]:
        """Copy (or upload) the master's tarballs; returns the record's artifact fields."""
        fields: dict[str, Any] = {}
        master_output = layout.host_base(master) / "output"
        for file_name, field in ARTIFACTS.items():
            source = master_output / file_name
            if not source.exists():
                continue
            local_copy = layout.output / file_name
            shutil.copy2(source, local_copy)
            uri = self._put(local_copy, f"output/{file_name}")
            fields[field] = {"S3ModelArtifacts": uri} if field == "ModelArtifacts" else {"S3OutputUri": uri}
        return fields

    def record(self, layout: JobLayout, record: dict[str, Any]) -> None:
        """Logs first, `describe.json` last; the job dir always keeps its own copy."""
        write_description(layout.describe_file, record)
        if self.base_uri == str(layout.root):
            return
        for log in sorted(layout.logs.glob("*.log")):
            self._put(log, f"logs/{log.name}")
        self._put(layout.describe_file, "describe.json")

    def _put(self, source: Path, relative: str) -> str:
        if self.base_uri == str(source.parent.parent) and source.is_relative_to(self.base_uri):
            return str(source)
        if self.is_s3:
            from container_runtime.local.s3 import upload_file

            uri = f"{self.base_uri}/{relative}"
            upload_file(source, uri, endpoint_url=self.endpoint_url, label=f"upload {relative}")
            return uri
        target = Path(self.base_uri) / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
        return str(target)


