"""A Docker daemon for the container tests: the one already running, else one started here.

There is no systemd on CI machines, so when no daemon answers, `docker_daemon()` starts
`dockerd` itself with everything private to the run (data root, exec root, socket, pid file)
and with no changes to the host's network settings: `--iptables=false --ip6tables=false
--bridge=none --ip-forward=false --ip-masq=false`. The default network then has no
connectivity, so builds use `--network host` and tests put containers on user-defined networks
(which still have DNS between containers). On exit the daemon is stopped (its containers and
networks go with it) and its run directories are removed.

Its data root is kept between runs, under the test cache (`$CONTAINER_RUNTIME_TEST_CACHE`,
default `/var/cache/container-runtime-tests`, as `docker-root/`), so the framework images' layers
survive: a rerun rebuilds only the layers whose inputs changed (the project's own code, seconds)
instead of installing TensorFlow, Chainer and CUDA again (minutes). Dangling images are pruned
on exit, so the root does not grow with every code change. `CONTAINER_RUNTIME_TEST_DOCKER_ROOT`
names another data root, or `temporary` for one that goes with the run. A data root in use by
another run (a lock file beside it) is never shared: that run gets a temporary one.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

#: The data root to keep between runs; `temporary` for one that goes with the run.
KEEP_ROOT_VARIABLE = "CONTAINER_RUNTIME_TEST_DOCKER_ROOT"
#: Where the container suite caches what is slow to make (base images, SDK venvs, the data root).
CACHE_VARIABLE = "CONTAINER_RUNTIME_TEST_CACHE"
DEFAULT_CACHE = Path("/var/cache/container-runtime-tests")
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0
DEFAULT_SOCKET = "/var/run/docker.sock"


@dataclass(frozen=True)
class DockerDaemon:
    """How to reach a daemon: `run()` calls the docker CLI with DOCKER_HOST set to it."""

    host: str
    started_here: bool

    @property
    def environment(self) -> dict[str, str]:
        """This process's environment pointed at the daemon, with the legacy builder (no BuildKit here)."""
        return {**os.environ, "DOCKER_HOST": self.host, "DOCKER_BUILDKIT": "0"}

    def run(self, *args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
        """`docker ARGS...`, captured; a failure (with `check`) raises with docker's own message."""
        result = subprocess.run(
            [docker_cli(), *args], env=self.environment, capture_output=True, text=True, timeout=timeout, check=False
        )
        if check and result.returncode != 0:
            raise RuntimeError(f"docker {' '.join(args[:3])}... failed ({result.returncode}): {result.stderr.strip()}")
        return result


def docker_cli() -> str:
    return shutil.which("docker") or "docker"


def missing_tools() -> list[str]:
    """The programs the container suite needs that this machine lacks."""
    return [tool for tool in ("docker", "dockerd", "debootstrap") if shutil.which(tool) is None]


def answers(host: str) -> bool:
    """Whether a daemon answers at `host` (a DOCKER_HOST value)."""
    if shutil.which("docker") is None:
        return False
    try:
        result = subprocess.run([docker_cli(), "version", "--format", "{{.Server.Version}}"],
                                env={**os.environ, "DOCKER_HOST": host}, capture_output=True, timeout=15, check=False)
    except subprocess.TimeoutExpired:
        return False
    return result.returncode == 0


def running_daemon() -> str | None:
    """DOCKER_HOST when set and answering, else the default socket when it answers."""
    configured = os.environ.get("DOCKER_HOST")
    if configured:
        return configured if answers(configured) else None
    default = f"unix://{DEFAULT_SOCKET}"
    return default if Path(DEFAULT_SOCKET).exists() and answers(default) else None


@contextlib.contextmanager
def docker_daemon() -> Iterator[DockerDaemon]:
    """The running daemon, or one started (and stopped, and cleaned up) here."""
    existing = running_daemon()
    if existing is not None:
        yield DockerDaemon(existing, started_here=False)
        return
    # Short paths: the socket's must fit in 108 bytes, and containerd nests its own sockets deeper.
    run_dir = Path(tempfile.mkdtemp(prefix="crd-", dir="/tmp"))
    lock = _lock_kept_root()
    data_root = Path(lock.name[: -len(".lock")]) if lock is not None else run_dir / "data"
    data_root.mkdir(parents=True, exist_ok=True)
    socket_path = run_dir / "docker.sock"
    log_path = run_dir / "dockerd.log"
    command = [
        shutil.which("dockerd") or "dockerd",
        "--data-root", str(data_root),
        "--exec-root", str(run_dir / "exec"),
        "--host", f"unix://{socket_path}",
        "--pidfile", str(run_dir / "dockerd.pid"),
        "--iptables=false", "--ip6tables=false", "--ip-forward=false", "--ip-masq=false", "--bridge=none",
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    daemon = DockerDaemon(f"unix://{socket_path}", started_here=True)
    try:
        _wait_until_answering(daemon, process, log_path)
        yield daemon
    finally:
        _stop(daemon, process, prune=lock is not None)
        unmount_below(run_dir)  # dockerd leaves exec-root/netns/default mounted
        shutil.rmtree(run_dir, ignore_errors=True)
        if lock is not None:
            lock.close()


def cache_dir() -> Path:
    configured = os.environ.get(CACHE_VARIABLE)
    return Path(configured) if configured else DEFAULT_CACHE


def _lock_kept_root() -> IO[bytes] | None:
    """The locked lock file of the data root to keep (its path less `.lock`), or None for a temporary root."""
    configured = os.environ.get(KEEP_ROOT_VARIABLE, "")
    if configured == "temporary":
        return None
    root = Path(configured) if configured else cache_dir() / "docker-root"
    root.parent.mkdir(parents=True, exist_ok=True)
    lock = open(f"{root}.lock", "wb")  # noqa: SIM115 - held until the daemon has stopped
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        lock.close()
        return None  # another run's daemon uses it
    return lock


def unmount_below(root: Path) -> None:
    """Lazily unmount everything mounted under `root`, deepest first."""
    prefix = str(root.resolve()) + "/"
    with open("/proc/self/mounts") as mounts:
        targets = [line.split()[1] for line in mounts if line.split()[1].startswith(prefix)]
    for target in sorted(targets, key=len, reverse=True):
        subprocess.run(["umount", "-l", target], capture_output=True, check=False)


def _wait_until_answering(daemon: DockerDaemon, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while not answers(daemon.host):
        if process.poll() is not None or time.monotonic() > deadline:
            tail = " | ".join(log_path.read_text(errors="replace").strip().splitlines()[-5:])
            state = f"exited with {process.returncode}" if process.poll() is not None else "did not answer in time"
            raise RuntimeError(f"dockerd {state}: {tail}")
        time.sleep(0.2)


def _stop(daemon: DockerDaemon, process: subprocess.Popen[bytes], *, prune: bool) -> None:
    """Remove what the tests left (so no bridge interface outlives the daemon), then stop it.

    With `prune`, images no tag names any more (earlier builds of the test images) go too."""
    if process.poll() is None:
        with contextlib.suppress(Exception):
            leftovers = daemon.run("ps", "-aq", check=False).stdout.split()
            if leftovers:
                daemon.run("rm", "-f", *leftovers, check=False, timeout=60)
            daemon.run("network", "prune", "-f", check=False)
            if prune:
                daemon.run("image", "prune", "-f", check=False, timeout=300)
        process.send_signal(signal.SIGTERM)  # dockerd stops its own containerd
        try:
            process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # whatever of its process group outlived it
