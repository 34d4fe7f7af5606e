"""Parsing of the runtime's own environment variables, with errors that name the variable."""

from __future__ import annotations

import math
from collections.abc import Mapping

from container_runtime.errors import ConfigError

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})
LOG_LEVEL_NAMES = {"CRITICAL": 50, "ERROR": 40, "WARNING": 30, "WARN": 30, "INFO": 20, "DEBUG": 10}


def env_flag(environ: Mapping[str, str], name: str, default: bool) -> bool:
    """A boolean variable: true/false, yes/no, on/off, 1/0 in any case; empty means default."""
    raw = environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ConfigError(f"environment variable {name}", f"expected true or false, got {environ[name]!r}")


def env_number(
    environ: Mapping[str, str], name: str, default: float, *, positive: bool = False, unit: str = ""
) -> float:
    """A finite non-negative number (positive if asked); empty means default."""
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        kind = "a positive" if positive else "a non-negative"
        raise ConfigError(f"environment variable {name}", f"expected {kind} number{unit}, got {raw!r}")
    return value


def env_seconds(environ: Mapping[str, str], name: str, default: float) -> float:
    """A non-negative number of seconds; empty means default."""
    return env_number(environ, name, default, unit=" of seconds")


def parse_log_level(value: object, *, source: str, key: str) -> int:
    """A level as a number (20) or a name ("INFO"), from a variable or a hyperparameter."""
    if isinstance(value, str):
        text = value.strip()
        if text.upper() in LOG_LEVEL_NAMES:
            return LOG_LEVEL_NAMES[text.upper()]
        if text.isdecimal():
            return int(text)
    elif isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise ConfigError(source, f"{key}: expected a level such as 20 or 'INFO', got {value!r}")
