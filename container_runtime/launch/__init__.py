"""Launchers: how one job's processes are started across slots and hosts (MPI for now).

Policy only: build commands from the frozen config and hand them to `TrainingJob.run_checked`.
Framework adapters choose a launcher; the process mechanism stays in `container_runtime.process`.
"""
