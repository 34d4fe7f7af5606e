"""The complete environment of the user's process, built from the frozen config.

`train` never writes its own `os.environ`; the child gets an explicit dict: what `train`
inherited, plus the `SM_*` variables, `SAGEMAKER_JOB_NAME`, `SAGEMAKER_REGION`,
`CURRENT_HOST` and a `PYTHONPATH` that starts with the code dir.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from container_runtime.config.model import TrainingConfig
from container_runtime.environment.sm_variables import sm_variables


def child_environment(config: TrainingConfig, user_args: Sequence[str]) -> dict[str, str]:
    environ = dict(config.inherited_environ)
    environ.update(sm_variables(config, user_args))
    environ["SAGEMAKER_JOB_NAME"] = config.job_name
    environ["SAGEMAKER_REGION"] = config.region
    environ["CURRENT_HOST"] = config.current_host
    environ["PYTHONPATH"] = python_path(str(config.code_dir), environ.get("PYTHONPATH", ""))
    # Pipes make Python block-buffer stdout; unbuffered output keeps logs live and in order.
    environ.setdefault("PYTHONUNBUFFERED", "1")
    return environ


def python_path(code_dir: str, inherited: str) -> str:
    """The code dir first, then the inherited entries, then this interpreter's own path."""
    entries = [code_dir, *inherited.split(os.pathsep), *sys.path]
    seen: set[str] = set()
    ordered = []
    for entry in entries:
        if entry and entry not in seen:
            seen.add(entry)
            ordered.append(entry)
    return os.pathsep.join(ordered)
