"""The one process handle: start, relay output, signal, stop under one deadline, wait, alive."""

from __future__ import annotations

import io
import signal
import subprocess
import sys
import time
from pathlib import Path

from container_runtime.process import PIPE, LineRelay, ProcessGroup

PYTHON = sys.executable
IGNORES_SIGTERM = (
    "import signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); "
    "time.sleep(60)"
)
CHECKPOINTS_ON_SIGTERM = (
    "import signal, sys, time\n"
    "def done(*_):\n    print('checkpointed', flush=True); sys.exit(7)\n"
    "signal.signal(signal.SIGTERM, done); print('ready', flush=True); time.sleep(60)\n"
)


def _ready(handle: ProcessGroup) -> None:
    assert handle.stdout is not None
    assert handle.stdout.readline() == b"ready\n"


def test_output_through_a_pipe_and_the_return_code() -> None:
    handle = ProcessGroup.start([PYTHON, "-c", "import sys; print('out'); print('err', file=sys.stderr); sys.exit(3)"],
                                label="helper", output=PIPE)
    assert handle.stdout is not None
    assert sorted(handle.stdout.read().splitlines()) == [b"err", b"out"]
    assert handle.wait(10) == 3
    assert not handle.alive()


def test_stop_lets_a_script_that_handles_sigterm_finish_within_the_grace() -> None:
    handle = ProcessGroup.start([PYTHON, "-c", CHECKPOINTS_ON_SIGTERM], label="helper", output=PIPE)
    _ready(handle)
    assert handle.alive()
    assert handle.stop(10) == 7
    assert handle.stdout is not None and handle.stdout.read() == b"checkpointed\n"


def test_stop_kills_the_group_when_the_grace_runs_out() -> None:
    handle = ProcessGroup.start([PYTHON, "-c", IGNORES_SIGTERM], label="helper", output=PIPE)
    _ready(handle)
    started = time.monotonic()
    assert handle.stop(0.5) == -signal.SIGKILL
    assert time.monotonic() - started < 5


def test_the_whole_group_gets_the_signal() -> None:
    """A grandchild in the same group ends with its parent's group."""
    script = (
        "import subprocess, sys, time; "
        f"child = subprocess.Popen([{PYTHON!r}, '-c', 'import time; time.sleep(60)']); "
        "print(child.pid, flush=True); time.sleep(60)"
    )
    handle = ProcessGroup.start([PYTHON, "-c", script], label="helper", output=PIPE)
    assert handle.stdout is not None
    grandchild = int(handle.stdout.readline())
    handle.stop(5)
    watched = ProcessGroup.watch(grandchild, label="grandchild")
    assert watched.wait(5) is not None


def test_watching_a_process_this_handle_does_not_reap(tmp_path: Path) -> None:
    process = subprocess.Popen([PYTHON, "-c", "import time; time.sleep(60)"], start_new_session=True)
    try:
        watched = ProcessGroup.watch(process.pid, label="someone else's")
        assert watched.alive()
        assert watched.wait(0.05) is None
        assert watched.stop(5) == 0  # gone (a zombie until its parent reaps it): 0, the code is its parent's
        assert process.wait(5) == -signal.SIGTERM
    finally:
        process.kill()
        process.wait()


def test_a_labelled_relay_keeps_every_line(tmp_path: Path) -> None:
    sink = io.BytesIO()
    handle = ProcessGroup.start([PYTHON, "-c", "import sys; print('one'); print('two', file=sys.stderr)"],
                                label="parameter server", output=LineRelay(sink, "parameter server"))
    assert handle.wait(10) == 0
    assert sorted(sink.getvalue().splitlines()) == [b"[parameter server] one", b"[parameter server] two"]


def test_output_appended_to_a_file(tmp_path: Path) -> None:
    log = tmp_path / "serve.log"
    log.write_bytes(b"earlier\n")
    handle = ProcessGroup.start([PYTHON, "-c", "print('later')"], label="endpoint", output=log)
    assert handle.wait(10) == 0
    assert log.read_bytes() == b"earlier\nlater\n"


def test_signalling_a_group_that_is_gone_says_so() -> None:
    handle = ProcessGroup.start([PYTHON, "-c", "pass"], label="helper")
    assert handle.wait(10) == 0
    assert handle.signal(signal.SIGTERM) is False
    assert handle.stop(1) == 0
