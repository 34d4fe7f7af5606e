"""The SSH server every host of an MPI job runs, so the master's mpirun can start ranks there.

The image provides sshd, its host key and the root key; the runtime finds sshd (or is told
where it is with SM_SSHD_PATH), starts it in the foreground on SM_SSH_PORT with the image's
config (or SM_SSHD_CONFIG), waits until it greets, and ends it, with every session it
started, when the job ends on this host. A server already answering on the port (started by
the image's own entry point) is used as it is.
"""

from __future__ import annotations

import os
import signal
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import IO

from container_runtime.cluster.errors import ClusterError
from container_runtime.cluster.reachability import greets_with_ssh
from container_runtime.config.cluster import ClusterSettings
from container_runtime.config.executables import find_executable
from container_runtime.log import get_logger
from container_runtime.process import ProcessGroup

logger = get_logger(__name__)
START_SECONDS = 10.0
STOP_GRACE_SECONDS = 2.0
#: Debian's sshd refuses to start without its privilege-separation directory.
PRIVILEGE_SEPARATION_DIR = Path("/run/sshd")


class SshServer:
    """A context manager: sshd running on this host for the duration of the job."""

    def __init__(self, settings: ClusterSettings, environ: Mapping[str, str]) -> None:
        self.settings = settings
        self.environ = environ
        self.process: ProcessGroup | None = None
        self._log: IO[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def __enter__(self) -> SshServer:
        port = self.settings.ssh_port
        if greets_with_ssh("localhost", port, timeout=1.0):
            logger.info("An SSH server already answers on port %d: using it", port)
            return self
        sshd = self._find_sshd()
        command = [sshd, "-D", "-e", "-p", str(port)]
        if self.settings.sshd_config:
            if not Path(self.settings.sshd_config).is_file():
                raise ClusterError(f"SM_SSHD_CONFIG: no such file {self.settings.sshd_config!r}")
            command += ["-f", self.settings.sshd_config]
        try:
            PRIVILEGE_SEPARATION_DIR.mkdir(mode=0o755, parents=True, exist_ok=True)
        except OSError:
            pass  # Not root, or an sshd built without privilege separation: sshd will say if it matters.
        self._log = tempfile.TemporaryFile()
        self.process = ProcessGroup.start(command, label="sshd", output=self._log, preexec_fn=_die_with_parent())
        try:
            self._wait_until_listening(port)
        except BaseException:
            self._stop()
            raise
        logger.info("Started sshd on port %d (pid %d)", port, self.process.pid)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._stop()

    def _find_sshd(self) -> str:
        configured = self.settings.sshd_path
        if configured:
            if not (os.path.isfile(configured) and os.access(configured, os.X_OK)):
                raise ClusterError(f"SM_SSHD_PATH: {configured!r} is not an executable file")
            return configured
        found = find_executable("sshd", self.environ)
        if found:
            return found
        if os.access("/usr/sbin/sshd", os.X_OK):
            return "/usr/sbin/sshd"
        raise ClusterError(
            "a multi-host MPI job needs an SSH server on every host, and sshd is neither on PATH nor "
            "/usr/sbin/sshd: install it (Debian: apt-get install openssh-server) or set SM_SSHD_PATH"
        )

    def _wait_until_listening(self, port: int) -> None:
        assert self.process is not None
        deadline = time.monotonic() + START_SECONDS
        pause = 0.01
        while not greets_with_ssh("localhost", port, timeout=1.0):
            returncode = self.process.wait(0)
            if returncode is not None:
                raise ClusterError(f"sshd exited with code {returncode} at start: {self._log_tail()}")
            if time.monotonic() > deadline:
                raise ClusterError(
                    f"sshd did not answer on port {port} within {START_SECONDS:.0f} s: {self._log_tail()}"
                )
            time.sleep(pause)
            pause = min(pause * 2, 0.2)

    def _log_tail(self) -> str:
        if self._log is None:
            return ""
        self._log.seek(0)
        lines = self._log.read().decode(errors="replace").strip().splitlines()
        return " | ".join(lines[-3:]) or "(no output)"

    def _stop(self) -> None:
        if self.process is not None:
            # sshd's sessions (mpirun's orted among them) leave its group: end the whole tree.
            self.process.stop_tree(STOP_GRACE_SECONDS)
            self.process = None
        if self._log is not None:
            self._log.close()
            self._log = None


def _die_with_parent() -> Callable[[], None] | None:
    """A pre-exec hook that makes the kernel kill sshd if `train` dies without ending it (SIGKILL,
    OOM): a host's SSH server must not outlive its job. Resolved before the fork, so the child only
    makes the system call."""
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    pr_set_pdeathsig = 1

    def hook() -> None:
        prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)

    return hook
