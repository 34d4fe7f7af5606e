"""Running the entry point under Open MPI's `mpirun`, one job across slots and hosts.

Python entry points run as `python -m mpi4py`, so an uncaught exception in any rank aborts
the whole job instead of leaving the others waiting. The command itself comes from
`launch.mpi_command`; several hosts go through `launch.mpi_hosts`.
"""

from __future__ import annotations

from container_runtime.job import TrainingJob
from container_runtime.launch.mpi_command import find_mpirun, log_launch, plan_mpi, rank_launch
from container_runtime.usercode.entry_point import EntryPoint


def run_mpi(job: TrainingJob, entry: EntryPoint | None = None) -> None:
    """Run the user's entry point on the ranks of the config's MPI `Distribution`, across its hosts.

    With several hosts the master launches every rank and the workers wait for its verdict
    (`launch.mpi_hosts`); on one host mpirun starts the ranks locally.
    """
    config = job.config
    mpirun = find_mpirun(config.inherited_environ)
    plan = plan_mpi(config.distribution, config.resource.network_interface_name)
    if len(plan.hosts) > 1:
        from container_runtime.launch.mpi_hosts import run_across_hosts

        run_across_hosts(job, plan, mpirun, entry)
        return
    entry = entry or job.prepare_code()
    command, env = rank_launch(job, plan, entry, mpirun)
    log_launch(job, plan, command)
    job.run_checked(command, env=env, label="mpirun")
