"""Validation of names that become paths or module names: entry points and channels."""

from __future__ import annotations

import re

from container_runtime.errors import ConfigError

# Relative path of plain segments; no option-like first character, no `.`/`..` segments.
_ENTRY_POINT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._+-]*(/[A-Za-z0-9._+-]+)*")
_CHANNEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def validate_entry_point(name: str, *, source: str) -> str:
    """Return `name` if it is a safe relative path inside the code dir."""
    segments = name.split("/")
    if not _ENTRY_POINT.fullmatch(name) or any(part in (".", "..") for part in segments):
        raise ConfigError(
            source,
            f"invalid entry point {name!r}: expected a relative path such as 'train.py' or "
            "'scripts/run.sh' (letters, digits, '._+-', no '..')",
        )
    return name


def is_channel_name(name: str) -> bool:
    """True if `name` can be a channel: a plain directory name under `input/data`."""
    return bool(_CHANNEL.fullmatch(name)) and name not in (".", "..")


def validate_channel_name(name: str, *, source: str) -> str:
    """Return `name` if it can be used as a directory name under `input/data`."""
    if not is_channel_name(name):
        raise ConfigError(source, f"invalid channel name {name!r}: use letters, digits, '._-'")
    return name
