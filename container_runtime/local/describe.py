"""`describe.json`: a local job's record, shaped like SageMaker's DescribeTrainingJob answer.

Written with status `InProgress` when the job starts and replaced (atomically) when it ends,
so a job that was interrupted never looks finished.
"""

from __future__ import annotations

import datetime
import json
import os
from pathlib import Path
from typing import Any

from container_runtime.local.errors import LocalModeError


def iso_time(timestamp: float) -> str:
    return datetime.datetime.fromtimestamp(timestamp, datetime.timezone.utc).isoformat(timespec="milliseconds")


def write_description(path: Path, description: dict[str, Any]) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(description, indent=2) + "\n")
    os.replace(partial, path)


def read_description(path: Path) -> dict[str, Any]:
    try:
        description = json.loads(path.read_text())
    except FileNotFoundError:
        raise LocalModeError(f"no job record at {path}") from None
    except ValueError as error:
        raise LocalModeError(f"{path}: not valid JSON ({error})") from error
    if not isinstance(description, dict):
        raise LocalModeError(f"{path}: expected a JSON object")
    return description
