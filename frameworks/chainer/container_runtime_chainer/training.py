"""The Chainer training adapter: one plain process, or ChainerMN ranks under MPI.

MPI is used when `sagemaker_use_mpi` is true, and by default whenever the job has more than
one host. Processes per host: `sagemaker_process_slots_per_host`, else the GPU count, else 1
(the documented intent, which the container we replace lost); `-np`:
`sagemaker_num_processes`, else processes per host times hosts. Both
`sagemaker_additional_mpi_options` and `sagemaker_mpi_custom_mpi_options` are appended after
our defaults, so they can override them. `load_config` reads these keys (the `chainer` table
of `container_runtime.config.distribution`) into the config's `Distribution`, so a bad one
fails the job before anything runs.
"""

from __future__ import annotations

from container_runtime.config.distribution import require_framework
from container_runtime.job import TrainingJob, run_entry_point
from container_runtime.launch.mpi import run_mpi

#: The name this adapter is registered under (setup.py, `container_runtime.training_adapters`).
FRAMEWORK = "chainer"


def run(job: TrainingJob) -> None:
    require_framework(job.config.distribution, FRAMEWORK, job.config.framework_module)
    if job.config.distribution.kind == "mpi":
        run_mpi(job)
    else:
        run_entry_point(job)
