"""The one line a person reads about a failed process: the error it stated, not a banner."""

from __future__ import annotations

from container_runtime.errors import ExecuteUserScriptError

MPIRUN_OUTPUT = """\
[1,1]<stderr>:Traceback (most recent call last):
[1,1]<stderr>:  File "train.py", line 3, in <module>
[1,1]<stderr>:ValueError: rank 1 on algo-2 failed on purpose
--------------------------------------------------------------------------
MPI_ABORT was invoked on rank 1 in communicator MPI_COMM_WORLD
with errorcode 1.
--------------------------------------------------------------------------
"""


def test_an_mpi_failure_names_the_rank_and_its_error() -> None:
    failure = ExecuteUserScriptError(["mpirun"], 1, MPIRUN_OUTPUT)
    assert failure.one_line() == "ExecuteUserScriptError: exit code 1: rank 1: ValueError: rank 1 on algo-2 failed on purpose"


def test_without_a_stated_error_the_last_meaningful_line_is_used() -> None:
    failure = ExecuteUserScriptError(["sh"], 2, "working\nstill working\n=====\n")
    assert failure.one_line() == "ExecuteUserScriptError: exit code 2: still working"
    assert ExecuteUserScriptError(["sh"], 3, "").one_line() == "ExecuteUserScriptError: exit code 3"
