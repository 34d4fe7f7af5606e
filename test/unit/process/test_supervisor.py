"""`run_supervised` in-process: exit codes, stderr tail, signal forwarding, grace kill, leftovers.

Children are tiny `python -I -S -c` programs. Every wait is bounded; signals to this process
are sent only while a harmless outer handler is installed, so a late one cannot kill pytest.
"""

from __future__ import annotations

import io
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from container_runtime.process import ProcessOutcome, SignalInbox, SupervisionPolicy, run_supervised
from container_runtime.process.proc_table import read_process_table

PYTHON = [sys.executable, "-I", "-S", "-c"]
WAIT_LIMIT = 5.0


@pytest.fixture
def guarded_signals() -> Iterator[list[threading.Thread]]:
    """Outer no-op SIGTERM/SIGINT handlers; joins the signalling threads before restoring."""
    late: list[int] = []
    previous = {
        signum: signal.signal(signum, lambda s, f: late.append(s)) for signum in (signal.SIGTERM, signal.SIGINT)
    }
    threads: list[threading.Thread] = []
    try:
        yield threads
    finally:
        for thread in threads:
            thread.join(WAIT_LIMIT)
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def wait_for_file(path: Path, limit: float = WAIT_LIMIT) -> bool:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if path.exists() and path.stat().st_size:
            return True
        time.sleep(0.005)
    return False


def signal_when_ready(threads: list[threading.Thread], ready: Path, signum: int) -> None:
    """Send `signum` to this process once the child has written `ready`."""

    def send() -> None:
        if wait_for_file(ready):
            os.kill(os.getpid(), signum)

    thread = threading.Thread(target=send, daemon=True)
    threads.append(thread)
    thread.start()


def supervise(
    code: str,
    tmp_path: Path,
    *args: str,
    policy: SupervisionPolicy | None = None,
    threads: list[threading.Thread] | None = None,
    signal_on_ready: tuple[Path, int] | None = None,
) -> tuple[ProcessOutcome, bytes, bytes, float]:
    stdout, stderr = io.BytesIO(), io.BytesIO()
    started = time.monotonic()
    with SignalInbox() as inbox:
        if signal_on_ready is not None:
            assert threads is not None
            signal_on_ready_path, signum = signal_on_ready
            signal_when_ready(threads, signal_on_ready_path, signum)
        outcome = run_supervised(
            [*PYTHON, code, *args],
            cwd=tmp_path,
            env={"PATH": os.environ.get("PATH", os.defpath)},
            inbox=inbox,
            policy=policy or SupervisionPolicy(grace_seconds=WAIT_LIMIT, leftover_grace_seconds=2.0),
            stdout_sink=stdout,  # type: ignore[arg-type]
            stderr_sink=stderr,  # type: ignore[arg-type]
        )
    return outcome, stdout.getvalue(), stderr.getvalue(), time.monotonic() - started


EXIT_CASES = [
    pytest.param(
        "import sys; sys.stdout.write('out\\n'); sys.stderr.write('e1\\ne2\\n'); sys.exit(3)",
        3,
        ("e1", "e2"),
        b"out\n",
        id="exit-3-with-tail",
    ),
    pytest.param("pass", 0, (), b"", id="success"),
    pytest.param("raise ValueError('boom')", 1, "ValueError: boom", b"", id="exception"),
    pytest.param("import os, signal; os.kill(os.getpid(), signal.SIGKILL)", -9, (), b"", id="killed-by-sigkill"),
    pytest.param(
        "import sys; sys.stdout.buffer.write(b'a\\rb\\x1b[J\\xff\\xfe\\n' * 3 + b'no-newline')",
        0,
        (),
        b"a\rb\x1b[J\xff\xfe\n" * 3 + b"no-newline",
        id="stdout-bytes-exact",
    ),
    pytest.param(
        "import sys; sys.stderr.write(''.join(f'line {i}\\n' for i in range(100)) + '\\x1b[31mlast\\x1b[0m')",
        0,
        tuple(f"line {i}" for i in range(51, 100)) + ("last",),
        b"",
        id="tail-keeps-last-50",
    ),
]


@pytest.mark.parametrize("code, returncode, tail, stdout", EXIT_CASES)
def test_exit_code_and_output(
    tmp_path: Path, code: str, returncode: int, tail: tuple[str, ...] | str, stdout: bytes
) -> None:
    outcome, out, err, elapsed = supervise(code, tmp_path)
    assert outcome.returncode == returncode
    if isinstance(tail, str):
        assert outcome.stderr_tail[-1] == tail
    else:
        assert outcome.stderr_tail == tail
    assert out == stdout
    assert outcome.stop_signal is None
    assert outcome.killed_after_grace is False
    assert outcome.leftover_pids == ()
    assert outcome.succeeded is (returncode == 0)
    assert elapsed < WAIT_LIMIT


def test_stderr_is_relayed_while_the_tail_is_kept(tmp_path: Path) -> None:
    outcome, _, err, _ = supervise("import sys; sys.stderr.write('x\\r\\x1b[2Ky\\n')", tmp_path)
    assert err == b"x\r\x1b[2Ky\n"
    assert outcome.stderr_tail == ("y",)


def test_cwd_and_env_are_the_given_ones(tmp_path: Path) -> None:
    code = "import os, sys; sys.stdout.write(os.getcwd() + '|' + ','.join(sorted(os.environ)))"
    outcome, out, _, _ = supervise(code, tmp_path)
    assert outcome.returncode == 0
    cwd, names = out.decode().split("|")
    assert Path(cwd).resolve() == tmp_path.resolve()
    assert "PATH" in names.split(",")
    assert "PYTEST_CURRENT_TEST" not in names


def test_child_runs_in_its_own_session(tmp_path: Path) -> None:
    outcome, out, _, _ = supervise("import os, sys; sys.stdout.write(f'{os.getpid()} {os.getsid(0)}')", tmp_path)
    pid, sid = out.split()
    assert pid == sid
    assert int(sid) != os.getsid(0)


def test_cannot_start_raises_oserror(tmp_path: Path) -> None:
    with SignalInbox() as inbox, pytest.raises(FileNotFoundError):
        run_supervised(
            [str(tmp_path / "missing")],
            cwd=tmp_path,
            env={},
            inbox=inbox,
            policy=SupervisionPolicy(grace_seconds=1),
            stdout_sink=None,
            stderr_sink=None,
        )


HANDLER_CHILD = """
import pathlib, signal, sys, time
ready, got = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
def handler(signum, frame):
    got.write_text(str(signum))
    sys.stderr.write('checkpoint saved\\n')
    sys.exit(0)
signal.signal(signal.SIGTERM, handler)
ready.write_text('ready')
time.sleep(30)
sys.exit(5)
"""


def test_sigterm_is_forwarded_to_the_child(tmp_path: Path, guarded_signals: list[threading.Thread]) -> None:
    ready, got = tmp_path / "ready", tmp_path / "got"
    outcome, _, err, elapsed = supervise(
        HANDLER_CHILD,
        tmp_path,
        str(ready),
        str(got),
        threads=guarded_signals,
        signal_on_ready=(ready, signal.SIGTERM),
    )
    assert got.read_text() == str(int(signal.SIGTERM))
    assert outcome.stop_signal is signal.SIGTERM
    assert outcome.returncode == 0
    assert outcome.killed_after_grace is False
    assert outcome.succeeded is False
    assert outcome.stderr_tail == ("checkpoint saved",)
    assert elapsed < WAIT_LIMIT


def test_sigint_is_forwarded_and_default_action_applies(
    tmp_path: Path, guarded_signals: list[threading.Thread]
) -> None:
    ready = tmp_path / "ready"
    code = "import pathlib, sys, time; pathlib.Path(sys.argv[1]).write_text('r'); time.sleep(30)"
    outcome, _, err, elapsed = supervise(
        code, tmp_path, str(ready), threads=guarded_signals, signal_on_ready=(ready, signal.SIGINT)
    )
    assert outcome.stop_signal is signal.SIGINT
    assert outcome.returncode == -signal.SIGINT  # Python re-raises SIGINT after KeyboardInterrupt
    assert outcome.exit_code == 130
    assert outcome.stderr_tail[-1] == "KeyboardInterrupt"
    assert elapsed < WAIT_LIMIT


IGNORING_CHILD = """
import pathlib, signal, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
pathlib.Path(sys.argv[1]).write_text('ready')
time.sleep(30)
"""


def test_child_killed_after_grace(tmp_path: Path, guarded_signals: list[threading.Thread]) -> None:
    ready = tmp_path / "ready"
    outcome, _, _, elapsed = supervise(
        IGNORING_CHILD,
        tmp_path,
        str(ready),
        policy=SupervisionPolicy(grace_seconds=0.3, leftover_grace_seconds=1.0),
        threads=guarded_signals,
        signal_on_ready=(ready, signal.SIGTERM),
    )
    assert outcome.stop_signal is signal.SIGTERM
    assert outcome.killed_after_grace is True
    assert outcome.returncode == -9
    assert outcome.exit_code == 137
    assert outcome.killed_by is signal.SIGKILL
    assert 0.3 <= elapsed < WAIT_LIMIT


LEAVES_GRANDCHILD = """
import pathlib, subprocess, sys, time
ready = pathlib.Path(sys.argv[2])
grandchild = subprocess.Popen([sys.executable, '-I', '-S', '-c', sys.argv[3], str(ready)])
deadline = time.monotonic() + 5
while not ready.exists() and time.monotonic() < deadline:
    time.sleep(0.005)
pathlib.Path(sys.argv[1]).write_text(str(grandchild.pid))
"""

GRANDCHILD_PLAIN = "import pathlib, sys, time; pathlib.Path(sys.argv[1]).write_text('r'); time.sleep(30)"
GRANDCHILD_IGNORES_TERM = (
    "import pathlib, signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    "pathlib.Path(sys.argv[1]).write_text('r'); time.sleep(30)"
)


@pytest.mark.parametrize(
    "grandchild, min_elapsed",
    [
        pytest.param(GRANDCHILD_PLAIN, 0.0, id="terminated"),
        pytest.param(GRANDCHILD_IGNORES_TERM, 0.3, id="ignores-sigterm-then-killed"),
    ],
)
def test_leftover_grandchild_is_ended_and_reported(tmp_path: Path, grandchild: str, min_elapsed: float) -> None:
    pid_file, ready = tmp_path / "grandchild.pid", tmp_path / "ready"
    outcome, _, _, elapsed = supervise(
        LEAVES_GRANDCHILD,
        tmp_path,
        str(pid_file),
        str(ready),
        grandchild,
        policy=SupervisionPolicy(grace_seconds=WAIT_LIMIT, leftover_grace_seconds=0.3),
    )
    grandchild_pid = int(pid_file.read_text())
    assert outcome.returncode == 0
    assert outcome.leftover_pids == (grandchild_pid,)
    entry = read_process_table().get(grandchild_pid)
    assert entry is None or entry.zombie
    assert min_elapsed <= elapsed < WAIT_LIMIT


@pytest.mark.parametrize(
    "returncode, exit_code, killed_by",
    [
        pytest.param(0, 0, None, id="success"),
        pytest.param(1, 1, None, id="one"),
        pytest.param(255, 255, None, id="max"),
        pytest.param(-2, 130, signal.SIGINT, id="sigint"),
        pytest.param(-9, 137, signal.SIGKILL, id="sigkill"),
        pytest.param(-11, 139, signal.SIGSEGV, id="sigsegv"),
        pytest.param(-15, 143, signal.SIGTERM, id="sigterm"),
    ],
)
def test_process_outcome_exit_code(returncode: int, exit_code: int, killed_by: signal.Signals | None) -> None:
    outcome = ProcessOutcome(
        returncode=returncode, stop_signal=None, killed_after_grace=False, stderr_tail=(), leftover_pids=()
    )
    assert outcome.exit_code == exit_code
    assert outcome.killed_by == killed_by
    assert outcome.succeeded is (returncode == 0)


def test_process_outcome_with_stop_signal_never_succeeds() -> None:
    outcome = ProcessOutcome(
        returncode=0, stop_signal=signal.SIGTERM, killed_after_grace=False, stderr_tail=(), leftover_pids=()
    )
    assert outcome.succeeded is False
