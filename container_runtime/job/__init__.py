"""One training job's building blocks and outcomes, below every launcher and the flow.

`TrainingJob` holds the blocks (code, arguments, environment, supervised processes) that the
default flow, the MPI launchers and the framework adapters share; `outcome` turns a process's
end into a `JobResult` or a typed failure. Launchers (`launch/`) and the flow (`training/`)
import this package; it imports neither.
"""

from container_runtime.job.outcome import JobResult, JobState, JobStopped
from container_runtime.job.training_job import TrainingJob, run_entry_point

__all__ = ["JobResult", "JobState", "JobStopped", "TrainingJob", "run_entry_point"]
