"""Reading the JSON files of `input/config` with errors that name the file and the fault."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from container_runtime.errors import ConfigError


def read_json_object(path: Path) -> dict[str, Any] | None:
    """Return the JSON object in `path`, or None when the file does not exist."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(str(path), f"cannot be read: {_reason(error)}") from error
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigError(
            str(path), f"is not valid JSON: {error.msg} at line {error.lineno} column {error.colno}"
        ) from error
    if not isinstance(value, dict):
        raise ConfigError(str(path), f"expected a JSON object, got {json_type_name(value)}")
    return value


def json_type_name(value: object) -> str:
    """Name a decoded JSON value's type the way the JSON spec does."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _reason(error: BaseException) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error)
