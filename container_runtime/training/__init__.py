"""Training policy: one run of `train` from a frozen config to a status and artifacts.

`run_training` runs the default flow, MPI or a framework adapter over the blocks of
`container_runtime.job` and maps the result to a `JobResult`. Nothing here exits the
interpreter: only `container_runtime.cli` does.
"""

from container_runtime.training.run import run_training

__all__ = ["run_training"]
