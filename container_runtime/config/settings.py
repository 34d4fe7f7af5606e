"""Parsing of the runtime's own environment variables, with errors that name the variable."""

from __future__ import annotations

import math
from collections.abc import Mapping

from container_runtime.errors import ConfigError

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


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


def env_seconds(environ: Mapping[str, str], name: str, default: float) -> float:
    """A non-negative number of seconds; empty means default."""
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise ConfigError(f"environment variable {name}", f"expected a non-negative number of seconds, got {raw!r}")
    return value
