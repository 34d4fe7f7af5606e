"""A handle on a started process group: signal it, stop it with a grace period, wait, ask if alive.

Every helper process in the tree (mpirun, sshd, a parameter server, local-mode hosts and
endpoints, namespace hosts) runs in a session of its own, so its pid is also its process group
and one signal reaches everything it started. Stopping is always the same: the stop signal to
the group, then SIGKILL to the group once the one deadline has passed, then a bounded wait.

A handle either owns its child (started here: it reaps it) or watches a process it does not
reap (one the supervisor reaps, or one another process started, such as an endpoint found in
a registry): then "exited" means gone or a zombie in `/proc`, and nothing here calls waitpid.

Output is never lost: a helper's output goes to this process's own stdout/stderr, to a file,
to a pipe the caller reads, or is relayed line by line with a label.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from signal import SIGKILL, SIGTERM, Signals
from typing import IO, BinaryIO

from container_runtime.log import get_logger
from container_runtime.process.proc_table import descendants, process_entry, read_process_table

logger = get_logger(__name__)

#: How the helper's stdout and stderr are kept. INHERIT: this process's own streams;
#: PIPE: stderr merged into `handle.stdout` for the caller to read.
INHERIT = "inherit"
PIPE = "pipe"


class LineRelay:
    """Copies a helper's merged output to `sink` line by line, each line prefixed with `label`."""

    def __init__(self, sink: BinaryIO, label: str) -> None:
        self.sink = sink
        self.prefix = f"[{label}] ".encode()

    def follow(self, stream: IO[bytes]) -> threading.Thread:
        thread = threading.Thread(target=self._copy, args=(stream,), name=f"relay {self.prefix!r}", daemon=True)
        thread.start()
        return thread

    def _copy(self, stream: IO[bytes]) -> None:
        with stream:
            for line in iter(stream.readline, b""):
                try:
                    self.sink.write(self.prefix + line)
                    self.sink.flush()
                except (OSError, ValueError):  # the sink went away: keep draining so the helper never blocks
                    pass


#: INHERIT, PIPE, a file path (appended to), an open binary file, or a LineRelay.
Output = str | Path | LineRelay | IO[bytes]


class ProcessGroup:
    """A process that leads its own process group; see the module docstring."""

    def __init__(self, pid: int, label: str, process: subprocess.Popen[bytes] | None = None,
                 reap_zombie: bool = False) -> None:
        self.pid = pid
        self.label = label
        self._process = process
        self._reap_zombie = reap_zombie
        self._relay: threading.Thread | None = None
        self.returncode: int | None = None

    @classmethod
    def start(
        cls,
        argv: Sequence[str],
        *,
        label: str,
        output: Output = INHERIT,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        preexec_fn: Callable[[], None] | None = None,
    ) -> ProcessGroup:
        """Start `argv` (never through a shell) in a new session. Raises OSError if it cannot start."""
        log_file = open(output, "ab") if isinstance(output, Path) else None  # noqa: SIM115 - closed below
        try:
            if output == INHERIT:
                stdout: int | IO[bytes] | None = None
                stderr: int | IO[bytes] | None = None
            elif log_file is not None:
                stdout, stderr = log_file, subprocess.STDOUT
            elif not isinstance(output, (str, Path, LineRelay)):
                stdout, stderr = output, subprocess.STDOUT
            else:
                stdout, stderr = subprocess.PIPE, subprocess.STDOUT
            process = subprocess.Popen(
                list(argv), cwd=cwd, env=dict(env) if env is not None else None, stdin=subprocess.DEVNULL,
                stdout=stdout, stderr=stderr, start_new_session=True, preexec_fn=preexec_fn,
            )
        finally:
            if log_file is not None:
                log_file.close()
        handle = cls(process.pid, label, process)
        if isinstance(output, LineRelay) and process.stdout is not None:
            handle._relay = output.follow(process.stdout)
        return handle

    @classmethod
    def watch(cls, pid: int, label: str, *, reap_zombie: bool = False) -> ProcessGroup:
        """A handle on a group another owner waits for (the supervisor's child, another process's helper).

        With `reap_zombie`, a leader that exited as a child of this process is reaped once seen as a
        zombie (an endpoint's serve found again by pid): only for processes no one else waits for.
        """
        return cls(pid, label, reap_zombie=reap_zombie)

    @property
    def stdout(self) -> IO[bytes] | None:
        """The merged output, when started with output=PIPE."""
        return self._process.stdout if self._process is not None and self._relay is None else None

    def signal(self, signum: int) -> bool:
        """Send `signum` to the whole group; False when there is no such group any more."""
        try:
            os.killpg(self.pid, signum)
        except ProcessLookupError:
            return False
        except PermissionError:
            logger.warning("Not allowed to signal the %s (process group %d)", self.label, self.pid)
            return False
        return True

    def signal_leader(self, signum: int) -> bool:
        """Send `signum` to the leader alone (a server that ends its own workers, as gunicorn's master does)."""
        if self.wait(0) is not None:
            return False
        try:
            os.kill(self.pid, signum)
        except ProcessLookupError:
            return False
        return True

    def alive(self) -> bool:
        """True while the group's leader runs (a zombie has exited)."""
        return self.wait(0) is None

    def wait(self, timeout: float | None) -> int | None:
        """The leader's return code once it has exited; None if it still runs after `timeout` seconds."""
        if self.returncode is not None:
            return self.returncode
        if self._process is not None:
            try:
                self.returncode = self._process.wait(timeout)
            except subprocess.TimeoutExpired:
                return None
            if self._relay is not None:
                self._relay.join(5)
            return self.returncode
        return self._watch_until_gone(timeout)

    def stop(self, grace_seconds: float, signum: int = SIGTERM) -> int | None:
        """`signum` to the group, SIGKILL to it after `grace_seconds`, then wait (bounded) for the leader.

        Returns the leader's return code when this handle reaps it; for a watched process, 0 once
        it is gone. None only if even SIGKILL did not end it within the grace.
        """
        deadline = time.monotonic() + grace_seconds
        if self.wait(0) is None and self.signal(signum):
            returncode = self.wait(max(deadline - time.monotonic(), 0.0))
            if returncode is not None:
                self.signal(SIGKILL)  # whatever the leader left behind in its group
                return returncode
            logger.warning("The %s did not exit %.0f s after %s: killing its process group",
                           self.label, grace_seconds, Signals(signum).name)
        self.signal(SIGKILL)
        return self.wait(max(grace_seconds, 1.0))

    def stop_tree(self, grace_seconds: float) -> None:
        """Like `stop`, for helpers whose children leave the group (sshd's sessions call setsid):
        the leader and every descendant get SIGTERM, then SIGKILL after the grace."""
        if self.wait(0) is None:
            terminate_tree(self.pid, grace_seconds)
        self.wait(grace_seconds)

    def _watch_until_gone(self, timeout: float | None) -> int | None:
        deadline = None if timeout is None else time.monotonic() + timeout
        pause = 0.005
        while True:
            entry = process_entry(self.pid)
            if entry is None or entry.zombie:
                if entry is not None and self._reap_zombie:
                    with contextlib.suppress(ChildProcessError):
                        os.waitpid(self.pid, os.WNOHANG)
                self.returncode = 0
                return self.returncode
            if deadline is not None and time.monotonic() >= deadline:
                return None
            time.sleep(pause if deadline is None else min(pause, max(deadline - time.monotonic(), 0.0)))
            pause = min(pause * 2, 0.1)


def terminate_tree(root: int, grace_seconds: float) -> list[int]:
    """End `root` and every process descended from it: SIGTERM, then SIGKILL after the grace.

    For helpers such as sshd, whose sessions (and what they started) outlive the listener.
    Returns the pids that were signalled.
    """
    pids = sorted({root} | descendants(read_process_table(), root))
    survivors = signal_and_wait(pids, SIGTERM, grace_seconds)
    if survivors:
        survivors = signal_and_wait(survivors, SIGKILL, grace_seconds)
    if survivors:
        logger.warning("Could not end process(es) %s", " ".join(str(pid) for pid in survivors))
    return pids


def signal_and_wait(pids: list[int], signum: int, timeout: float) -> list[int]:
    """Signal each pid, then wait (bounded) until each is gone or a zombie; return the rest."""
    for pid in pids:
        try:
            os.kill(pid, signum)
        except (ProcessLookupError, PermissionError):
            pass
    deadline = time.monotonic() + timeout
    pause = 0.005
    while True:
        _reap_any_children_of_ours(pids)
        table = read_process_table()
        alive = [pid for pid in pids if pid in table and not table[pid].zombie]
        if not alive or time.monotonic() >= deadline:
            return alive
        time.sleep(pause)
        pause = min(pause * 2, 0.1)


def _reap_any_children_of_ours(pids: list[int]) -> None:
    for pid in pids:
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
