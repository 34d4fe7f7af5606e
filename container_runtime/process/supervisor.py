"""Running one child process under supervision.

The child runs in its own session. Its stdout and stderr are relayed byte for byte while the
last lines of stderr are kept. Stop signals are forwarded to its whole process group; after
the grace period the group is killed. When the child exits, whatever it left running is
terminated, and every wait is bounded.
"""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import BinaryIO, NamedTuple

from container_runtime.log import get_logger
from container_runtime.process.group import ProcessGroup, signal_and_wait
from container_runtime.process.proc_table import leftover_processes, read_process_table
from container_runtime.process.signals import SignalInbox
from container_runtime.process.streaming import OutputRelay

logger = get_logger(__name__)
READ_CHUNK = 64 * 1024


class SupervisionPolicy(NamedTuple):
    #: Seconds between forwarding a stop signal and killing the process group.
    grace_seconds: float
    #: Seconds left-behind processes get between SIGTERM and SIGKILL.
    leftover_grace_seconds: float = 5.0
    #: The supervisor is PID 1 or a subreaper, so orphans become its children to reap.
    reap_orphans: bool = False
    tail_lines: int = 50
    #: Processes the caller runs beside the child (a parameter server, say): never treated as
    #: left behind by the child, nor are their descendants.
    keep_pids: tuple[int, ...] = ()
    #: What the child is, for the log ("the training script", "pip", "mpirun"): the caller's word.
    label: str = "the child process"


class ProcessOutcome(NamedTuple):
    """How a supervised process ended. `returncode` is negative when a signal killed it."""

    returncode: int
    stop_signal: signal.Signals | None
    killed_after_grace: bool
    stderr_tail: tuple[str, ...]
    leftover_pids: tuple[int, ...]

    @property
    def killed_by(self) -> signal.Signals | None:
        return signal.Signals(-self.returncode) if self.returncode < 0 else None

    @property
    def exit_code(self) -> int:
        """The exit status as a shell reports it: 128 + N for a death by signal N."""
        return 128 - self.returncode if self.returncode < 0 else self.returncode

    @property
    def succeeded(self) -> bool:
        return self.returncode == 0 and self.stop_signal is None


def run_supervised(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    inbox: SignalInbox,
    policy: SupervisionPolicy,
    stdout_sink: BinaryIO | None,
    stderr_sink: BinaryIO | None,
    on_start: Callable[[ProcessGroup], None] | None = None,
) -> ProcessOutcome:
    """Start `argv` (no shell) and supervise it to the end. Raises OSError if it cannot start.

    `on_start` gets a handle on the child's process group (which the supervisor reaps), for
    callers that may have to end it from elsewhere, such as a watcher that sees another host
    leave the job.
    """
    process = subprocess.Popen(
        list(argv),
        cwd=cwd,
        env=dict(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    if on_start is not None:
        on_start(ProcessGroup.watch(process.pid, label=policy.label))
    return _Supervision(process, inbox, policy, stdout_sink, stderr_sink).run()


class _Supervision:
    def __init__(
        self,
        process: subprocess.Popen[bytes],
        inbox: SignalInbox,
        policy: SupervisionPolicy,
        stdout_sink: BinaryIO | None,
        stderr_sink: BinaryIO | None,
    ) -> None:
        self.process = process
        self.inbox = inbox
        self.policy = policy
        self.stop_signal: signal.Signals | None = None
        self.kill_deadline: float | None = None
        self.killed_after_grace = False
        self.stderr_relay = OutputRelay(stderr_sink, tail_lines=policy.tail_lines)
        self.selector = selectors.DefaultSelector()
        if process.stdout is not None:
            self.selector.register(process.stdout, selectors.EVENT_READ, OutputRelay(stdout_sink))
        if process.stderr is not None:
            self.selector.register(process.stderr, selectors.EVENT_READ, self.stderr_relay)
        self.selector.register(inbox.fileno, selectors.EVENT_READ, None)

    def run(self) -> ProcessOutcome:
        try:
            returncode = self._supervise()
            leftovers = self._terminate_leftovers()
            self._drain_output(time.monotonic() + self.policy.leftover_grace_seconds)
            if self.policy.reap_orphans:
                _reap_zombie_children(self.policy.keep_pids)
        finally:
            self._close()
        return ProcessOutcome(
            returncode=returncode,
            stop_signal=self.stop_signal,
            killed_after_grace=self.killed_after_grace,
            stderr_tail=self.stderr_relay.tail(),
            leftover_pids=tuple(leftovers),
        )

    def _supervise(self) -> int:
        while True:
            self._forward_stop_signals()
            returncode = self._reap_child()
            if returncode is not None:
                return returncode
            timeout = None
            if self.kill_deadline is not None:
                timeout = self.kill_deadline - time.monotonic()
                if timeout <= 0 and not self.killed_after_grace:
                    logger.warning(
                        "%s did not exit %.0f s after %s: killing its process group",
                        self.policy.label[:1].upper() + self.policy.label[1:],
                        self.policy.grace_seconds,
                        self.stop_signal.name if self.stop_signal else "the stop signal",
                    )
                    self._signal_group(signal.SIGKILL)
                    self.killed_after_grace = True
                if self.killed_after_grace:
                    timeout = None
            self._pump(max(timeout, 0.0) if timeout is not None else None)

    def _forward_stop_signals(self) -> None:
        for signum in self.inbox.take_new_stop_signals():
            if self.stop_signal is None:
                self.stop_signal = signum
                self.kill_deadline = time.monotonic() + self.policy.grace_seconds
                logger.info(
                    "Received %s: forwarding it to the process group of %s (killed after %.0f s)",
                    signum.name,
                    self.policy.label,
                    self.policy.grace_seconds,
                )
            self._signal_group(signum)

    def _signal_group(self, signum: int) -> None:
        try:
            os.killpg(self.process.pid, signum)
        except (ProcessLookupError, PermissionError):
            pass

    def _reap_child(self) -> int | None:
        """The child's return code once it has exited; reaps orphans too when asked."""
        status: int | None = None
        if self.policy.reap_orphans:
            for pid, wait_status in _reap_zombie_children(self.policy.keep_pids):
                if pid == self.process.pid:
                    status = wait_status
        else:
            try:
                pid, wait_status = os.waitpid(self.process.pid, os.WNOHANG)
            except ChildProcessError:
                pid, wait_status = self.process.pid, 0
            if pid == self.process.pid:
                status = wait_status
        if status is None:
            return None
        returncode = os.waitstatus_to_exitcode(status)
        self.process.returncode = returncode
        return returncode

    def _pump(self, timeout: float | None) -> None:
        for key, _ in self.selector.select(timeout):
            relay = key.data
            if relay is None:
                self.inbox.drain()
                continue
            data = os.read(key.fd, READ_CHUNK)
            if data:
                relay.feed(data)
            else:
                relay.close()
                self.selector.unregister(key.fileobj)

    def _has_open_pipes(self) -> bool:
        return any(key.data is not None for key in self.selector.get_map().values())

    def _drain_output(self, deadline: float) -> None:
        while self._has_open_pipes():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                logger.warning("Some process still holds the output of %s open; not waiting for it", self.policy.label)
                break
            self._pump(remaining)
        for key in list(self.selector.get_map().values()):
            if key.data is not None:
                key.data.close()

    def _terminate_leftovers(self) -> list[int]:
        pids = leftover_processes(
            read_process_table(),
            supervisor_pid=os.getpid() if self.policy.reap_orphans else None,
            child_session=self.process.pid,
            keep_pids=self.policy.keep_pids,
        )
        if not pids:
            return []
        logger.info(
            "%s left %d process(es) running; terminating: %s",
            self.policy.label[:1].upper() + self.policy.label[1:],
            len(pids),
            " ".join(str(pid) for pid in pids),
        )
        survivors = signal_and_wait(pids, signal.SIGTERM, self.policy.leftover_grace_seconds)
        if survivors:
            survivors = signal_and_wait(survivors, signal.SIGKILL, self.policy.leftover_grace_seconds)
        if survivors:
            logger.warning("Could not end process(es) %s", " ".join(str(pid) for pid in survivors))
        return pids

    def _close(self) -> None:
        self.selector.close()
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


def _reap_zombie_children(keep_pids: tuple[int, ...]) -> list[tuple[int, int]]:
    """Reap every exited child of this process (PID 1 / subreaper duty) except `keep_pids`,
    whose owners wait for them themselves."""
    reaped = []
    me = os.getpid()
    for entry in read_process_table().values():
        if entry.ppid != me or not entry.zombie or entry.pid in keep_pids:
            continue
        try:
            pid, status = os.waitpid(entry.pid, os.WNOHANG)
        except ChildProcessError:
            continue
        if pid:
            reaped.append((pid, status))
    return reaped


def become_subreaper() -> bool:
    """Make orphaned descendants our children (Linux), so none escape supervision."""
    if os.getpid() == 1:
        return True
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_child_subreaper = 36
        return bool(libc.prctl(pr_set_child_subreaper, 1, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False
