"""Scripts that fail, crash or get stopped: status files, exit codes, and no process left."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from harness.jobs import JobDir, train_command


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def wait_for(path: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def test_script_that_raises(job: JobDir) -> None:
    job.script("raise_error.py").hyperparameters({"sagemaker_program": "raise_error.py"})
    result = job.run()
    assert result.returncode == 1
    failure = job.failure()
    assert failure is not None
    assert failure.startswith("ExecuteUserScriptError:\nExitCode 1\nErrorMessage \"")
    assert "ValueError: boom: the learning rate is negative" in failure
    assert "about to fail" in failure
    assert failure.rstrip().endswith('-- raise_error.py"')
    assert "ExecuteUserScriptError: exit code 1: ValueError: boom" in result.stderr
    assert "starting" in result.stdout
    assert not job.succeeded()


def test_script_that_exits_3(job: JobDir) -> None:
    job.script("exit_code.py").hyperparameters({"sagemaker_program": "exit_code.py", "code": 3})
    result = job.run()
    assert result.returncode == 1  # the contract: user errors exit 1, the code is in the text
    failure = job.failure() or ""
    assert "ExitCode 3\n" in failure
    assert "exiting with 3" in failure
    assert 'Command "' in failure and "--code 3" in failure


def test_user_written_failure_file_is_kept(job: JobDir) -> None:
    (job.code / "t.py").write_text(
        "import os, sys\n"
        "open(os.path.join(os.environ['SM_OUTPUT_DIR'], 'failure'), 'w').write('my own reason')\n"
        "sys.exit(2)\n"
    )
    job.hyperparameters({"sagemaker_program": "t.py"})
    result = job.run()
    assert result.returncode == 1
    assert job.failure() == "my own reason"


def test_killed_process_gets_an_out_of_memory_hint(job: JobDir) -> None:
    job.script("oom.py").hyperparameters({"sagemaker_program": "oom.py"})
    result = job.run()
    assert result.returncode == 1
    failure = job.failure() or ""
    assert "ExitCode 137" in failure
    assert 'ExtraInfo "OutOfMemory' in failure
    assert "OutOfMemory" in result.stderr


def test_sigterm_reaches_the_script_which_checkpoints(job: JobDir) -> None:
    job.script("checkpoint_on_sigterm.py").hyperparameters({"sagemaker_program": "checkpoint_on_sigterm.py"})
    process = job.start({"SM_STOP_GRACE_SECONDS": "30"})
    pids_file = job.base / "output" / "data" / "pids"
    wait_for(pids_file)
    pids = json.loads(pids_file.read_text())
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 128 + signal.SIGTERM
    assert (job.base / "checkpoints" / "checkpoint.txt").read_text() == "stopped by signal 15\n"
    assert "checkpoint written" in stdout
    failure = job.failure() or ""
    assert failure.startswith("TrainingStopped:\nSignal SIGTERM\nExitCode 0")
    assert "Training stopped by SIGTERM" in stderr
    assert not job.succeeded()
    assert [pid for pid in pids if alive(pid)] == []
    # Artifacts are still packed after a stop.
    assert (job.output / "output.tar.gz").exists()


def test_script_ignoring_sigterm_is_killed_after_the_grace_period(job: JobDir) -> None:
    job.script("ignore_sigterm.py").hyperparameters({"sagemaker_program": "ignore_sigterm.py"})
    process = job.start({"SM_STOP_GRACE_SECONDS": "1"})
    assert process.stdout is not None
    assert process.stdout.readline() == "ignoring SIGTERM\n"
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 143
    assert time.monotonic() - started < 20
    failure = job.failure() or ""
    assert "ExitCode 137" in failure and "grace period" in failure
    assert "killing its process group" in stderr


def test_sigint_is_forwarded(job: JobDir) -> None:
    job.script("ignore_sigterm.py").hyperparameters({"sagemaker_program": "ignore_sigterm.py"})
    process = job.start()
    assert process.stdout is not None
    process.stdout.readline()
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=60)
    assert process.returncode == 130
    assert (job.failure() or "").startswith("TrainingStopped:\nSignal SIGINT")


def test_background_processes_left_by_a_script_are_ended(job: JobDir) -> None:
    (job.code / "t.py").write_text(
        "import os, subprocess, sys\n"
        "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'], start_new_session=True)\n"
        "q = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\n"
        "open(os.path.join(os.environ['SM_MODEL_DIR'], 'pids'), 'w').write(f'{p.pid} {q.pid}')\n"
    )
    job.hyperparameters({"sagemaker_program": "t.py"})
    result = job.run()
    assert result.returncode == 0, result.stderr
    pids = [int(pid) for pid in (job.model / "pids").read_text().split()]
    assert [pid for pid in pids if alive(pid)] == []
    assert "left 2 process(es) running" in result.stderr


def test_output_is_relayed_byte_for_byte(job: JobDir) -> None:
    job.script("raw_output.py").hyperparameters({"sagemaker_program": "raw_output.py"})
    result = subprocess.run(
        train_command(),
        env=job.environment(None),
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0
    assert result.stdout == (
        b"progress 10%\rprogress 100%\r\n\x1b[Jepoch 1 loss 0.5\nno newline at end"
    )
    assert b"stderr \xff\xfe bytes\n" in result.stderr


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to create a PID namespace")
def test_train_as_pid_1_reaps_orphans(job: JobDir) -> None:
    """In a container `train` is PID 1: orphans become its children and must be reaped."""
    (job.code / "t.py").write_text(
        "import os, subprocess, sys, time\n"
        "# The middle process exits at once, so its child becomes an orphan of PID 1 and exits.\n"
        "subprocess.run([sys.executable, '-c', 'import os; os.fork() or os._exit(0)'])\n"
        "time.sleep(1)\n"
        "states = [open(f'/proc/{p}/stat').read().rsplit(')', 1)[1].split()[0]\n"
        "          for p in os.listdir('/proc') if p.isdigit()]\n"
        "print('pid', os.getpid(), 'zombies', states.count('Z'))\n"
    )
    job.hyperparameters({"sagemaker_program": "t.py"})
    result = subprocess.run(
        ["unshare", "--pid", "--fork", "--mount-proc", *train_command()],
        env=job.environment(None),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "pid 2 zombies 0" in result.stdout
    assert job.succeeded()


def test_a_failure_file_written_by_a_script_that_exits_0_fails_the_job(job: JobDir) -> None:
    (job.code / "t.py").write_text(
        "import os\nopen(os.path.join(os.environ['SM_OUTPUT_DIR'], 'failure'), 'w').write('validation data missing')\n"
    )
    job.hyperparameters({"sagemaker_program": "t.py"})
    result = job.run()
    assert result.returncode == 1
    assert job.failure() == "validation data missing"
    assert not job.succeeded()
    assert "the script reported a failure in output/failure: validation data missing" in result.stderr


def test_a_stale_failure_file_from_an_earlier_run_does_not_fail_the_job(job: JobDir) -> None:
    (job.code / "t.py").write_text("print('fine')\n")
    job.hyperparameters({"sagemaker_program": "t.py"})
    stale = job.output / "failure"
    stale.write_text("old")
    os.utime(stale, (1_000_000_000, 1_000_000_000))
    assert job.run().returncode == 0
    assert job.succeeded()
