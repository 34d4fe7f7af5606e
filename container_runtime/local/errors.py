"""The one error local mode raises for bad input: its message is the one line a user reads."""

from __future__ import annotations


class LocalModeError(Exception):
    """A bad argument, a missing file, an unreachable store or a busy port; says which."""
