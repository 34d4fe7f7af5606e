"""Where local mode keeps jobs and endpoints: `$CONTAINER_RUNTIME_HOME` (default
`~/.container-runtime`) holds `jobs/` and `endpoints/`."""

from __future__ import annotations

import os
from pathlib import Path


def home() -> Path:
    configured = os.environ.get("CONTAINER_RUNTIME_HOME")
    return Path(configured).expanduser() if configured else Path.home() / ".container-runtime"


def default_jobs_dir() -> Path:
    return home() / "jobs"


def default_endpoints_dir() -> Path:
    return home() / "endpoints"


def s3_endpoint_url() -> str | None:
    return os.environ.get("S3_ENDPOINT_URL") or None
