"""Training policy: one run of `train` from a frozen config to a status and artifacts.

`TrainingJob` holds the blocks (code, arguments, environment, supervised processes);
`run_training` runs the default flow or a framework adapter and maps the result to a
`JobResult`. Nothing here exits the interpreter: only `container_runtime.cli` does.
"""

from container_runtime.training.job import TrainingJob, run_entry_point
from container_runtime.training.outcome import JobResult, JobState, JobStopped
from container_runtime.training.run import run_training

__all__ = ["JobResult", "JobState", "JobStopped", "TrainingJob", "run_entry_point", "run_training"]
