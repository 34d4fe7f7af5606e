"""Finding a program on PATH without importing `shutil` on the start-up path."""

from __future__ import annotations

import os
from collections.abc import Mapping


def find_executable(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The first executable file called `name` on PATH, like `shutil.which`."""
    search_path = (environ if environ is not None else os.environ).get("PATH", os.defpath)
    for directory in search_path.split(os.pathsep):
        candidate = os.path.join(directory or ".", name)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None
