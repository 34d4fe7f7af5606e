"""The one place that builds what a host or an endpoint runs: the runtime command and its environment.

Every backend starts `train` or `serve` with an environment made here: this process's own
without another job's SageMaker variables, plus the job's settings, plus the base dir as the
host sees it. On this machine the command is the runtime's script beside this interpreter; in
a container it is the image's `train` or `serve`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

from container_runtime.local.errors import LocalModeError

RuntimeCommand = Literal["train", "serve"]
#: Variables of another job that must never leak into this one's hosts.
FOREIGN_PREFIXES = ("SM_", "SAGEMAKER_")


def runtime_command(name: RuntimeCommand) -> list[str]:
    """The runtime's `train` or `serve` installed beside this interpreter, else its module."""
    script = Path(sys.executable).parent / name
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-m", f"container_runtime.cli.{name}"]


def clean_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment without another job's SageMaker variables, plus `extra`."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(FOREIGN_PREFIXES)}
    env.update(extra or {})
    return env


def host_environment(job_environment: Mapping[str, str], base_dir: Path, **settings: str) -> dict[str, str]:
    """A training host's environment: the job's, the base dir where the host sees it, and backend settings."""
    return {**job_environment, **settings, "SAGEMAKER_BASE_DIR": str(base_dir)}


def endpoint_environment(environment: Mapping[str, str], base_dir: Path, *, has_code: bool) -> dict[str, str]:
    """serve's environment with the endpoint dir where serve sees it; set last, so a user's variable
    cannot make serve read another model than the record names."""
    env = dict(environment)
    if has_code:
        env["SAGEMAKER_SUBMIT_DIRECTORY"] = str(base_dir / "code")
    env["SAGEMAKER_BASE_DIR"] = str(base_dir)
    return env


def run_client(argv: Sequence[str], *, what: str, engine: str, timeout: float,
               env: Mapping[str, str] | None = None) -> str:
    """Run an engine's client (docker, sbatch, squeue...) with an argument list: its stdout, or one
    LocalModeError line naming `what` failed and the engine's own reason."""
    try:
        result = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout,
                                env=dict(env) if env is not None else None, stdin=subprocess.DEVNULL, check=False)
    except subprocess.TimeoutExpired:
        raise LocalModeError(f"{what}: {engine} did not answer within {timeout:g} s") from None
    if result.returncode != 0:
        reason = " ".join(result.stderr.split()) or f"exit status {result.returncode}"
        raise LocalModeError(f"{what}: {reason}")
    return result.stdout
