"""The Chainer training adapter: one plain process, or ChainerMN ranks under MPI.

MPI is used when `sagemaker_use_mpi` is true, and by default whenever the job has more than
one host. Processes per host: `sagemaker_process_slots_per_host`, else the GPU count, else 1
(the documented intent, which the container we replace lost); `-np`:
`sagemaker_num_processes`, else processes per host times hosts. Both
`sagemaker_additional_mpi_options` and `sagemaker_mpi_custom_mpi_options` are appended after
our defaults, so they can override them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from container_runtime.config.hyperparameters import boolean_parameter
from container_runtime.job import TrainingJob, run_entry_point
from container_runtime.launch.mpi import run_mpi
from container_runtime.launch.mpi_command import MpiKeys

CHAINER_MPI_KEYS = MpiKeys(
    processes_per_host=("sagemaker_process_slots_per_host", "sagemaker_mpi_num_of_processes_per_host"),
    num_processes=("sagemaker_num_processes", "sagemaker_mpi_num_processes"),
    custom_options=("sagemaker_additional_mpi_options", "sagemaker_mpi_custom_mpi_options"),
)


def uses_mpi(framework_params: Mapping[str, Any], host_count: int) -> bool:
    return boolean_parameter(framework_params, "sagemaker_use_mpi", host_count > 1)


def run(job: TrainingJob) -> None:
    config = job.config
    if uses_mpi(config.framework_params, len(config.resource.hosts)):
        run_mpi(job, CHAINER_MPI_KEYS)
    else:
        run_entry_point(job)
