"""The `slurm` backend: a local job's hosts as the nodes of one Slurm job.

`start_all` submits one batch job (`sbatch --nodes N --ntasks-per-node 1`) whose script runs
`srun` once, so every node of the allocation runs `slurm_node`: it runs `train` with the
node's base dir in the job dir (which must lie on a filesystem the nodes share) and its output
going to a file there. No resourceconfig.json is written: each node's `train` takes the hosts
from Slurm's own variables. This side follows each node's output file as its log stream, reads
each node's exit status from the file the node writes when `train` ends, and watches the Slurm
job with `squeue`, so a node that dies without a status is reported too. A stop is
`scancel --signal=TERM` (every step's processes get SIGTERM, so scripts can checkpoint), then
`scancel` after the grace. Everything is called with argument lists, never through a shell.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO

from container_runtime.local.backends.base import Backend, HostLaunch, HostProcess, HostSet
from container_runtime.local.backends.commands import run_client
from container_runtime.local.backends.slurm_node import NODE_MODULE, job_is_over
from container_runtime.local.errors import LocalModeError
from container_runtime.local.layout import JobLayout

CLIENTS = ("sbatch", "squeue", "scancel", "sinfo", "srun")
TIMEOUT_SECONDS = 60.0
#: How often this side looks for a node's exit status, and asks Slurm whether the job still runs.
POLL_SECONDS = 0.1
SQUEUE_EVERY_SECONDS = 2.0
#: Exit status reported for a node whose `train` never reported one (the node or its step died).
LOST_NODE_STATUS = 1


def slurm(*args: str, timeout: float = TIMEOUT_SECONDS, env: Mapping[str, str] | None = None,
          what: str | None = None) -> str:
    """Run a Slurm client; its stdout, or one LocalModeError line quoting Slurm's reason."""
    program = shutil.which(args[0])
    if program is None:
        raise LocalModeError(f"--backend slurm needs Slurm's {args[0]} on PATH (Debian: apt-get install slurm-client)")
    return run_client([program, *args[1:]], what=what or args[0], engine="Slurm", timeout=timeout, env=env)


class SlurmBackend(Backend):
    name = "slurm"
    serves_endpoints = False
    engine_identity = True

    def __init__(self, partition: str | None = None, time_limit: str | None = None,
                 gpus_per_node: int | None = None) -> None:
        self.partition = partition
        self.time_limit = time_limit
        self.gpus_per_node = gpus_per_node

    def check(self, host_count: int, jobs_dir: Path | None = None) -> None:
        missing = [client for client in CLIENTS if shutil.which(client) is None]
        if missing:
            raise LocalModeError(f"--backend slurm needs Slurm's {', '.join(missing)} on PATH "
                                 "(Debian: apt-get install slurm-client)")
        nodes = self._partition_nodes()
        if host_count > nodes:
            where = f"partition {self.partition}" if self.partition else "the default partition"
            raise LocalModeError(f"instance count {host_count}: {where} has {nodes} node(s)")
        if jobs_dir is not None:
            self._check_shared(jobs_dir, host_count)

    def hosts(self, layout: JobLayout, hosts: Sequence[str]) -> HostSet:
        return SlurmHosts(self, layout, hosts)

    def sbatch_options(self) -> list[str]:
        options = []
        if self.partition:
            options += ["--partition", self.partition]
        if self.time_limit:
            options += ["--time", self.time_limit]
        if self.gpus_per_node:
            options += ["--gpus-per-node", str(self.gpus_per_node)]
        return options

    def _partition_nodes(self) -> int:
        """Nodes in the chosen (or default) partition; an unknown partition is named."""
        listing = slurm("sinfo", "--noheader", "--format", "%P %D", what="--backend slurm: sinfo")
        sizes: dict[str, int] = {}
        default = None
        for line in listing.splitlines():
            name, _, count = line.strip().partition(" ")
            if not name or not count.strip().isdigit():
                continue
            if name.endswith("*"):
                name = name[:-1]
                default = name
            sizes[name] = sizes.get(name, 0) + int(count)
        chosen = self.partition or default
        if chosen is None or chosen not in sizes:
            known = ", ".join(sorted(sizes)) or "none"
            raise LocalModeError(f"partition {self.partition or '(default)'!r}: Slurm knows {known}")
        return sizes[chosen]

    def _check_shared(self, jobs_dir: Path, host_count: int) -> None:
        """A file written here must be read on as many nodes as the job takes: the job dir must be on a
        filesystem the nodes share."""
        jobs_dir.mkdir(parents=True, exist_ok=True)
        token = secrets.token_hex(8)
        probe = jobs_dir / f".slurm-probe-{token}"
        probe.write_text(token + "\n")
        try:
            seen = slurm("srun", "--nodes", str(host_count), "--ntasks-per-node", "1", "--quiet",
                         *self._partition_option(), "cat", str(probe), what=f"reading {probe} on the Slurm nodes")
        except LocalModeError as error:
            if "No such file" not in str(error):
                raise LocalModeError(f"jobs dir {jobs_dir}: could not check that the Slurm nodes share it: {error}") \
                    from None
            seen = ""
        finally:
            probe.unlink(missing_ok=True)
        if seen.split() != [token] * host_count:
            raise LocalModeError(f"jobs dir {jobs_dir} is not on a filesystem the Slurm nodes share (a file written "
                                 "here was not there on every node): choose a shared one with --home")

    def _partition_option(self) -> list[str]:
        return ["--partition", self.partition] if self.partition else []


class SlurmHosts(HostSet):
    """The job's hosts as one Slurm job; leaving the block cancels it if it still runs."""

    def __init__(self, backend: SlurmBackend, layout: JobLayout, hosts: Sequence[str]) -> None:
        self.backend = backend
        self.layout = layout
        self.hosts = tuple(hosts)
        self.description = "Slurm" + (f" partition {backend.partition}" if backend.partition else "")
        self.job: SlurmJob | None = None
        self.record_fields: dict[str, object] = {}

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if self.job is not None and self.job.active():
            with contextlib.suppress(LocalModeError):
                slurm("scancel", self.job.job_id)

    def start(self, launch: HostLaunch) -> HostProcess:
        return self.start_all([launch])[launch.host]

    def start_all(self, launches: Sequence[HostLaunch]) -> dict[str, HostProcess]:
        if [launch.host for launch in launches] != list(self.hosts):
            raise ValueError("a Slurm job starts all its hosts at once, in order")
        streams = self.layout.root / "slurm"
        streams.mkdir(exist_ok=True)
        batch = streams / "batch.py"
        batch.write_text(f"#!{sys.executable}\nfrom {NODE_MODULE} import batch\nbatch()\n")
        batch.chmod(0o755)
        env = dict(launches[0].environment)
        env.pop("SAGEMAKER_BASE_DIR", None)
        job_id = slurm(
            "sbatch", "--parsable", "--job-name", self.layout.root.name, "--nodes", str(len(self.hosts)),
            "--ntasks-per-node", "1", "--output", str(streams / "batch.out"), "--chdir", str(self.layout.root),
            *self.backend.sbatch_options(), str(batch), str(self.layout.root),
            env=env, what="submitting the job with sbatch",
        ).strip().split(";")[0]
        self.job = SlurmJob(job_id)
        self.record_fields = {"SlurmJobId": job_id}
        return {host: SlurmHostProcess(self.job, streams / f"{host}.out", streams / f"{host}.exit")
                for host in self.hosts}


class SlurmJob:
    """One submitted job: whether it still runs (asked at most every SQUEUE_EVERY_SECONDS), and its stops."""

    def __init__(self, job_id: str) -> None:
        self.job_id = job_id
        self._lock = threading.Lock()
        self._asked = 0.0
        self._active = True
        self._signalled: set[int] = set()

    def active(self) -> bool:
        with self._lock:
            now = time.monotonic()
            if self._active and now - self._asked >= SQUEUE_EVERY_SECONDS:
                self._asked = now
                # squeue refuses job ids it has forgotten: the job is over, as when it cannot answer.
                self._active = job_is_over(self.job_id, TIMEOUT_SECONDS) is False
            return self._active

    def signal(self, signum: int) -> bool:
        """SIGTERM: every step's processes (scripts can checkpoint); anything else ends the job. Once each."""
        with self._lock:
            if signum in self._signalled or not self._active:
                return self._active
            self._signalled.add(signum)
        arguments = ["--signal=TERM"] if signum == signal.SIGTERM else []
        try:
            slurm("scancel", *arguments, self.job_id, what=f"cancelling Slurm job {self.job_id}")
        except LocalModeError:
            return False
        return True


class SlurmHostProcess:
    """One node's `train`, followed through the job dir: its output file, its exit status file."""

    def __init__(self, job: SlurmJob, output: Path, exit_file: Path) -> None:
        self.job = job
        self.output = output
        self.exit_file = exit_file
        self.returncode: int | None = None
        read_end, self._write_end = os.pipe()
        self._stdout = os.fdopen(read_end, "rb")
        threading.Thread(target=self._follow, name=f"follow {output.name}", daemon=True).start()

    @property
    def stdout(self) -> IO[bytes] | None:
        return self._stdout

    def wait(self, timeout: float | None) -> int | None:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.returncode is None:
            self.returncode = self._status()
            if self.returncode is not None or (deadline is not None and time.monotonic() >= deadline):
                break
            time.sleep(POLL_SECONDS if deadline is None else max(0.0, min(POLL_SECONDS, deadline - time.monotonic())))
        return self.returncode

    def signal(self, signum: int) -> bool:
        return self.returncode is None and self.job.signal(signum)

    def _status(self) -> int | None:
        status = self._recorded_status()
        if status is not None:
            return status
        if not self.job.active():
            status = self._recorded_status()  # written just before the job ended
            return LOST_NODE_STATUS if status is None else status
        return None

    def _recorded_status(self) -> int | None:
        """The status the node wrote when its train ended, if it has."""
        try:
            text = self.exit_file.read_text().strip()
        except OSError:
            return None
        return int(text) if text.lstrip("-").isdigit() else None

    def _follow(self) -> None:
        """Copy the node's output file into the pipe as it grows, until the node has ended and all is read."""
        with os.fdopen(self._write_end, "wb") as sink:
            source = None
            while source is None:
                try:
                    source = self.output.open("rb")
                except FileNotFoundError:
                    if self.wait(0) is not None:
                        return
                    time.sleep(POLL_SECONDS)
            with source:
                while True:
                    chunk = source.read(64 * 1024)
                    if chunk:
                        with contextlib.suppress(BrokenPipeError):
                            sink.write(chunk)
                            sink.flush()
                        continue
                    if self.wait(0) is not None:
                        rest = source.read()  # what was written between the last read and the exit
                        with contextlib.suppress(BrokenPipeError):
                            sink.write(rest)
                        return
                    time.sleep(POLL_SECONDS / 5)
