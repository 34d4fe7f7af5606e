"""Running the `container-runtime` command line the way a user does, with its own home."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path


def cli_command() -> list[str]:
    """The installed `container-runtime` beside this interpreter, else its module."""
    beside = Path(sys.executable).parent / "container-runtime"
    return [str(beside)] if beside.exists() else [sys.executable, "-m", "container_runtime.local.cli"]


def cli(home: Path, *args: str, timeout: float = 180, env: Mapping[str, str] | None = None
        ) -> subprocess.CompletedProcess[str]:
    """`container-runtime --home HOME ARGS...` in this environment (plus `env`), captured."""
    command = cli_command()
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("SM_", "SAGEMAKER_"))}
    environment.update(env or {})
    return subprocess.run([*command, "--home", str(home), *args], capture_output=True, text=True, timeout=timeout,
                          env=environment, check=False)
