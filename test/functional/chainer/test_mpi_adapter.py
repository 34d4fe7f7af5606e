"""The Chainer adapter running real MPI jobs on one host through `train` (no SSH)."""

from __future__ import annotations

import re
import shutil
import time

import pytest

from harness.jobs import JobDir

pytest.importorskip("mpi4py", reason="MPI tests need mpi4py (pip install 'container-runtime[chainer]')")
if shutil.which("mpirun") is None:
    pytest.skip("MPI tests need Open MPI's mpirun (apt-get install openmpi-bin)", allow_module_level=True)

ADAPTER = {"SAGEMAKER_TRAINING_MODULE": "container_runtime_chainer.training:run"}

RANKS = """\
import os, sys
from mpi4py import MPI
comm = MPI.COMM_WORLD
print("rank", comm.Get_rank(), "of", comm.Get_size(), "args", " ".join(sys.argv[1:]))
total = comm.allreduce(comm.Get_rank() + 1)
if comm.Get_rank() == 0:
    open(os.path.join(os.environ["SM_MODEL_DIR"], "total"), "w").write(str(total))
"""


def test_two_ranks_on_one_host(job: JobDir) -> None:
    (job.code / "ranks.py").write_text(RANKS)
    job.hyperparameters({"sagemaker_program": "ranks.py", "sagemaker_use_mpi": True,
                         "sagemaker_process_slots_per_host": 2, "lr": 0.5})
    result = job.run(ADAPTER)
    assert result.returncode == 0, result.stderr
    assert (job.model / "total").read_text() == "3"
    lines = result.stdout.splitlines()
    # --tag-output with line-buffered ranks: one whole tagged line per print
    for rank in (0, 1):
        assert any(re.fullmatch(rf"\[\d+,{rank}\]<stdout>:rank {rank} of 2 args --lr 0\.5", line) for line in lines)
    assert "Running 2 MPI processes" in result.stderr


def test_user_files_named_frameworks_or_local_mode_break_nothing(job: JobDir) -> None:
    """The code dir comes first on every rank's path: the runtime's own modules must not be shadowed."""
    (job.code / "ranks.py").write_text(RANKS)
    for name in ("frameworks.py", "local_mode.py"):
        (job.code / name).write_text(f"raise SystemExit('the runtime imported the user file {name}')\n")
    job.hyperparameters({"sagemaker_program": "ranks.py", "sagemaker_use_mpi": True,
                         "sagemaker_process_slots_per_host": 2})
    result = job.run(ADAPTER)
    assert result.returncode == 0, result.stderr
    assert (job.model / "total").read_text() == "3"
    assert "the runtime imported the user file" not in result.stdout + result.stderr


def test_without_mpi_the_script_runs_as_one_plain_process(job: JobDir) -> None:
    (job.code / "plain.py").write_text("import sys; print('plain', sys.argv[1:])\n")
    job.hyperparameters({"sagemaker_program": "plain.py", "epochs": 1})
    result = job.run(ADAPTER)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "plain ['--epochs', '1']"


def test_a_rank_that_raises_before_communicating_ends_the_job_quickly(job: JobDir) -> None:
    (job.code / "crash.py").write_text(
        "import time\nfrom mpi4py import MPI\n"
        "if MPI.COMM_WORLD.Get_rank() == 1:\n    raise RuntimeError('rank 1 cannot read its shard')\n"
        "MPI.COMM_WORLD.barrier()\ntime.sleep(600)\n"
    )
    job.hyperparameters({"sagemaker_program": "crash.py", "sagemaker_use_mpi": True,
                         "sagemaker_process_slots_per_host": 2})
    started = time.monotonic()
    result = job.run(ADAPTER, timeout=120)
    assert time.monotonic() - started < 60
    assert result.returncode == 1
    failure = job.failure() or ""
    assert failure.startswith("ExecuteUserScriptError:")
    assert "rank 1 cannot read its shard" in failure


def test_custom_options_override_defaults(job: JobDir) -> None:
    (job.code / "ranks.py").write_text(RANKS)
    job.hyperparameters({
        "sagemaker_program": "ranks.py", "sagemaker_use_mpi": True, "sagemaker_process_slots_per_host": 2,
        "sagemaker_additional_mpi_options": "-x EXTRA_FROM_ADDITIONAL=1",
        "sagemaker_mpi_custom_mpi_options": "-mca orte_abort_on_non_zero_status 0",
    })
    result = job.run(ADAPTER)
    assert result.returncode == 0, result.stderr
    logged = next(line for line in result.stderr.splitlines() if "Running 2 MPI processes" in line)
    # Appended after every default, in order; the repeated default gives way to the user's value.
    assert logged.index("-x SM_USER_ENTRY_POINT") < logged.index("EXTRA_FROM_ADDITIONAL")
    assert logged.index("EXTRA_FROM_ADDITIONAL") < logged.index("orte_abort_on_non_zero_status 0")
    assert "orte_abort_on_non_zero_status 1" not in logged


def test_missing_mpirun_is_a_clear_error(job: JobDir, tmp_path) -> None:  # type: ignore[no-untyped-def]
    (job.code / "ranks.py").write_text(RANKS)
    job.hyperparameters({"sagemaker_program": "ranks.py", "sagemaker_use_mpi": True})
    result = job.run({**ADAPTER, "PATH": str(tmp_path)})
    assert result.returncode == 1
    assert "mpirun is not installed" in (job.failure() or "")
