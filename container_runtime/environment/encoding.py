"""How values become environment variable strings, exactly as the SageMaker toolkit does."""

from __future__ import annotations

import json
import re
from typing import Any

_SHELL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NOT_SHELL_CHARS = re.compile(r"[^A-Za-z0-9_]")


def encode_env_value(value: Any) -> str:
    """None is empty, strings are raw, bytes latin-1, anything else compact sorted JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("latin-1")
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def is_shell_name(name: str) -> bool:
    """True if a POSIX shell can read `$name`."""
    return bool(_SHELL_NAME.fullmatch(name))


def shell_safe_name(name: str) -> str:
    """`SM_HP_LEARNING-RATE` becomes `SM_HP_LEARNING_RATE`."""
    return _NOT_SHELL_CHARS.sub("_", name)
