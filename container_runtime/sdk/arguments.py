"""How SDK arguments with no local meaning are treated: accepted, and named once in one INFO line.

Arguments that would change results if dropped are refused by the caller with a one-line
`LocalModeError` naming them; arguments the SDK does not have are Python's own `TypeError`, as
each class spells out the SDK's signature.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from container_runtime.local.errors import LocalModeError

LOGGER = logging.getLogger("container_runtime.sdk")


def log_ignored(owner: str, given: Mapping[str, Any]) -> list[str]:
    """Log (once, at INFO) the arguments in `given` that were set to something, as ignored; returns their names."""
    names = sorted(name for name, value in given.items() if value is not None and value is not False)
    if names:
        LOGGER.info("%s: ignoring %s (no meaning on local mode)", owner, ", ".join(names))
    return names


def refuse(owner: str, name: str, value: Any, why: str) -> LocalModeError:
    """The one-line error for an SDK argument that local mode cannot honour."""
    return LocalModeError(f"{owner}: {name}={value!r} is not supported on local mode: {why}")


def renamed(owner: str, new_name: str, new: Any, old_name: str, old: Any) -> Any:
    """SDK v1's name of an argument (`train_instance_type`) or v2's, not both with different values."""
    if old is None:
        return new
    if new is not None and new != old:
        raise LocalModeError(f"{owner}: {old_name}={old!r} and {new_name}={new!r} disagree: give {new_name} only")
    return old
