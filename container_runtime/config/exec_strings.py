"""Strings that reach another process as an argument or an environment variable.

`execve` takes C strings: a NUL character ends one, so Python refuses it ("embedded null
byte"), and text must be encoded to bytes, which fails for an unpaired surrogate (the
surrogate-escaped bytes of an undecodable name, U+DC80 to U+DCFF, are fine). An environment
variable's name also cannot be empty or hold '='. `load_config` checks every such value here,
so a bad one is a `ConfigError` naming where it came from, not a crash when the child starts.
"""

from __future__ import annotations

from container_runtime.errors import ConfigError


def exec_string_problem(text: str) -> str | None:
    """Why `text` cannot be passed to a process, or None when it can."""
    if "\x00" in text:
        return "contains a NUL character"
    try:
        text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return "contains characters that cannot be passed to a process (an unpaired surrogate)"
    return None


def check_exec_string(text: str, *, source: str, what: str = "") -> str:
    """Return `text` if a process can receive it; else a ConfigError naming `source` and `what`."""
    problem = exec_string_problem(text)
    if problem:
        prefix = f"{what}: " if what else ""
        raise ConfigError(source, f"{prefix}value {text[:60]!r} {problem}")
    return text


def check_variable_name(name: str, *, source: str) -> str:
    """Return `name` if it can name an environment variable."""
    problem = exec_string_problem(name)
    if problem is None and (not name or "=" in name):
        problem = "is empty" if not name else "contains '='"
    if problem:
        raise ConfigError(source, f"{name[:60]!r} cannot name an environment variable: it {problem}")
    return name
