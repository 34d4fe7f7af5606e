"""The `output/success` and `output/failure` files the platform reads after a job."""

from __future__ import annotations

import os
from pathlib import Path

from container_runtime.config.paths import JobPaths
from container_runtime.log import get_logger

logger = get_logger(__name__)


def write_success(paths: JobPaths) -> None:
    paths.output.mkdir(parents=True, exist_ok=True)
    paths.success_file.touch()


def write_failure(paths: JobPaths, text: str) -> bool:
    """Write the failure reason unless the job wrote its own; True if ours was written.

    Nothing is created when the base dir itself does not exist.
    """
    if not paths.base.is_dir():
        return False
    target = paths.failure_file
    if target.exists():
        logger.info("%s was written by the job: kept as the failure reason", target)
        return False
    paths.output.mkdir(parents=True, exist_ok=True)
    _write_atomically(target, text)
    return True


def _write_atomically(target: Path, text: str) -> None:
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, target)
