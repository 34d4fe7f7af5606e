"""A real Slurm cluster on the namespace hosts of a `HostCluster`, started and stopped by the test itself.

`running_slurm(cluster, root)` makes a MUNGE key and starts one `munged` (in algo-1; its Unix socket
is a file every host reaches, and `AuthInfo=socket=` points every daemon and client at it), writes a
minimal `slurm.conf`, starts `slurmctld` in algo-1 (the controller and "login node") and one
`slurmd -N algo-N` in every host, all in the foreground as children of this process, and waits
(bounded) until `sinfo` reports every node idle. Every daemon and client reads the run's config
through `SLURM_CONF`; nothing under /etc/slurm, /etc/munge or /run/munge is read or written. The
daemons listen only inside the hosts' network namespaces (their `eth0` on the private bridge and
loopback).

Files: everything a run needs (key, config, state, per-node spool, sockets, pid files) is in a
fresh directory under `root` (or under the system temporary directory when `root`'s path is too
long for the Unix sockets Slurm and MUNGE make there, or not searchable by every user, as pytest's
directories are not), removed on exit. The daemons' logs are in
`root/slurm-logs/` and stay, for the test's post-mortem. `root` must not be under the cluster's
`base_dir`: each host sees its own directory there, and Slurm's shared state and the job
directory (`SlurmCluster.shared_dir`) must be the same on every node, as on a real cluster's NFS.

On exit, also when the block raised: every job is cancelled, the slurmd's, slurmctld and munged get
SIGTERM (SIGKILL after a bound), and whatever Slurm started in the hosts (slurmstepd and the job
steps' processes) is killed.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from container_runtime.process import ProcessGroup
from container_runtime.process.group import signal_and_wait
from container_runtime.process.proc_table import descendants, read_process_table
from harness.hosts import HostCluster

__all__ = ["SlurmCluster", "can_run_slurm", "running_slurm"]

#: The controller, and the host clients run on by default (the "login node").
CONTROLLER = "algo-1"
PARTITION = "debug"
_START_TIMEOUT_S = 60.0
_STOP_TIMEOUT_S = 10.0
_CLIENT_TIMEOUT_S = 30.0
# sun_path holds 108 bytes; slurmstepd's socket is <spool>/<node>_<job>.<step> (step up to 4294967294).
_MAX_SOCKET_PATH = 100
_LONGEST_SOCKET_NAME = len("/spool/algo-99/algo-99_99999999.4294967294")
#: Job states after which nothing of the job runs any more.
FINAL_STATES = ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY", "BOOT_FAIL",
                "DEADLINE", "PREEMPTED")


def can_run_slurm() -> str | None:
    """Why `running_slurm` cannot work here (a pytest skip reason), or None when it can."""
    if os.geteuid() != 0:
        return "a Slurm cluster on namespace hosts needs root (network namespaces, SlurmUser=root)"
    if shutil.which("ip") is None or shutil.which("unshare") is None:
        return "a Slurm cluster on namespace hosts needs 'ip' and 'unshare' (apt-get install iproute2 util-linux)"
    if _binary("munged") is None:
        return "a Slurm cluster needs munged (apt-get install munge)"
    for daemon in ("slurmctld", "slurmd"):
        if _binary(daemon) is None:
            return f"a Slurm cluster needs {daemon} (apt-get install slurm-wlm munge)"
    for client in ("sbatch", "srun", "squeue", "scancel", "sinfo", "scontrol"):
        if shutil.which(client) is None:
            return f"a Slurm cluster needs the client {client} (apt-get install slurm-wlm, or slurm-client)"
    return None


@dataclass
class SlurmCluster:
    """A running Slurm cluster: one node per host of `cluster`, the controller on algo-1.

    Clients run inside a host (usually algo-1, the "login node") with `environment()`: `run` and
    `check` do both; `client` gives the argv for callers that start the client themselves.
    """

    cluster: HostCluster
    #: The run's private files: config, key, state, spool, sockets (removed on exit).
    run_dir: Path
    #: The daemons' logs (kept after exit).
    log_dir: Path
    #: A directory every node sees at the same path ("the shared filesystem"): job scripts and outputs.
    shared_dir: Path
    nodes: list[str]
    daemons: dict[str, ProcessGroup] = field(default_factory=dict)

    @property
    def config(self) -> Path:
        return self.run_dir / "slurm.conf"

    @property
    def node_local_dir(self) -> Path:
        """The path at which each slurmd, and every job process it starts, sees its own node's scratch
        directory (Slurm's `TmpFS`): node-local, like a real node's /tmp."""
        return self.run_dir / "node-local"

    @property
    def munge_socket(self) -> Path:
        return self.run_dir / "munge" / "munge.socket"

    def environment(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """This process's environment plus what every Slurm client needs: `SLURM_CONF` (MUNGE's socket is
        named in the config). Slurm variables inherited from an outer job are dropped."""
        env = {name: value for name, value in os.environ.items()
               if not name.startswith(("SLURM_", "SBATCH_", "SALLOC_", "SRUN_"))}
        env["SLURM_CONF"] = str(self.config)
        env.update(extra or {})
        return env

    def client(self, host: str, argv: Sequence[str]) -> list[str]:
        """The argv that runs a Slurm client (sbatch, srun, squeue, scancel...) on `host`; give it
        `environment()`."""
        return self.cluster.host(host).command(argv)

    def run(self, host: str, argv: Sequence[str], timeout: float = _CLIENT_TIMEOUT_S,
            env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """Run a client on `host` (with `environment(env)`); what it printed, its exit status unchecked."""
        return subprocess.run(self.client(host, argv), env=self.environment(env), capture_output=True, text=True,
                              timeout=timeout, check=False)

    def check(self, host: str, argv: Sequence[str], timeout: float = _CLIENT_TIMEOUT_S,
              env: Mapping[str, str] | None = None) -> str:
        """Run a client on `host`; its stdout, or a RuntimeError quoting what it said when it failed."""
        result = self.run(host, argv, timeout, env)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} on {host} exited with {result.returncode}: "
                               f"{result.stderr.strip() or result.stdout.strip()}")
        return result.stdout

    def submit(self, script: Path, *options: str, env: Mapping[str, str] | None = None) -> str:
        """`sbatch --parsable [options] script` on the controller; the job id."""
        return self.check(CONTROLLER, ["sbatch", "--parsable", *options, str(script)], env=env).strip().split(";")[0]

    def node_states(self) -> dict[str, str]:
        """Each node's state as `sinfo` prints it (idle, alloc, mix, down*, ...)."""
        output = self.check(CONTROLLER, ["sinfo", "-h", "-N", "-o", "%N %t"])
        return dict(line.split() for line in output.splitlines() if line.strip())

    def job_state(self, job_id: str) -> str | None:
        """The job's state from `scontrol show job` (PENDING, RUNNING, COMPLETED, CANCELLED, NODE_FAIL...);
        None when the controller does not know the job."""
        result = self.run(CONTROLLER, ["scontrol", "-o", "show", "job", job_id])
        if result.returncode != 0:
            return None
        for word in result.stdout.split():
            if word.startswith("JobState="):
                return word.partition("=")[2]
        return None

    def wait_for_job(self, job_id: str, timeout: float = 60.0, states: Sequence[str] = FINAL_STATES) -> str:
        """Wait (bounded) until the job is in one of `states` (default: any final state); that state."""
        deadline = time.monotonic() + timeout
        while True:
            state = self.job_state(job_id)
            if state in states:
                return state
            if time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} is {state} after {timeout:.0f} s, not {' or '.join(states)}:\n"
                                   f"{self.logs()}")
            time.sleep(0.2)

    def slurmd(self, node: str) -> ProcessGroup:
        """The handle on `node`'s slurmd (its pid is slurmd's own: `signal_leader` reaches it alone)."""
        return self.daemons[f"slurmd {node}"]

    def processes(self) -> dict[int, str]:
        """pid -> command name of what this cluster runs in the hosts: its daemons, every slurmstepd with
        its descendants, and every process a job started (it has SLURM_JOB_ID in its environment)."""
        return _slurm_processes(self)

    def logs(self, lines: int = 30) -> str:
        """The tail of every daemon's log, for error messages."""
        return "\n".join(f"--- {path} ---\n{_tail(path, lines)}" for path in sorted(self.log_dir.glob("*.log")))


@contextmanager
def running_slurm(cluster: HostCluster, root: Path, cpus: int = 2) -> Iterator[SlurmCluster]:
    """A Slurm cluster on every host of the already-built `cluster`, for the duration of the block.

    Each node has `cpus` CPUs (at most this machine's count: slurmd drains a node that has fewer than
    configured). Start-up waits at most 60 s for every node to be idle; the RuntimeError quotes the logs.
    """
    reason = can_run_slurm()
    if reason is not None:
        raise RuntimeError(reason)
    root = Path(root).resolve()
    if root == cluster.base_dir or cluster.base_dir in root.parents:
        raise ValueError(f"{root} is under {cluster.base_dir}, which each host sees differently: Slurm needs a "
                         "directory every node shares")
    log_dir = root / "slurm-logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    shared_dir = root / "slurm-shared"
    shared_dir.mkdir(exist_ok=True)
    run_dir = Path(tempfile.mkdtemp(prefix="slurm-", dir=root if _fits_sockets(root) else None))
    run_dir.chmod(0o755)  # munged checks that every user can reach its socket; the secrets are 0700 inside
    slurm = SlurmCluster(cluster, run_dir, log_dir, shared_dir, [host.name for host in cluster.hosts])
    try:
        _write_files(slurm, max(1, min(cpus, os.cpu_count() or 1)))
        _start_munged(slurm)
        _start_slurm_daemons(slurm)
        yield slurm
    finally:
        try:
            _stop(slurm)
        finally:
            shutil.rmtree(run_dir, ignore_errors=True)


def _fits_sockets(root: Path) -> bool:
    """Whether the run's Unix sockets can live under `root`: short enough a path for sun_path, and every
    directory on the way searchable by every user (munged refuses a socket others cannot reach; pytest's
    /tmp/pytest-of-root is 0700). Otherwise they go under the system temporary directory."""
    if len(str(root)) + len("/slurm-xxxxxxxx") + _LONGEST_SOCKET_NAME > _MAX_SOCKET_PATH:
        return False
    return all(directory.stat().st_mode & stat.S_IXOTH for directory in (root, *root.parents))


def _write_files(slurm: SlurmCluster, cpus: int) -> None:
    run = slurm.run_dir
    for directory in ("state", "spool", "pids"):
        (run / directory).mkdir(mode=0o700)
    (run / "munge").mkdir(mode=0o755)  # munged wants its socket's directory searchable by every user
    (run / "local").mkdir(mode=0o755)
    slurm.node_local_dir.mkdir(mode=0o755)
    for name in slurm.nodes:
        (run / "spool" / name).mkdir(mode=0o700)
        (run / "local" / name).mkdir()
        (run / "local" / name).chmod(0o1777)
    key = run / "munge" / "munge.key"
    key.touch(mode=0o600)
    key.write_bytes(secrets.token_bytes(1024))
    (run / "plugstack.conf").write_text("")  # instead of the machine's /etc/slurm/plugstack.conf
    # slurmd loads a cgroup plugin even when no plugin in slurm.conf uses cgroups, and autodetection fails
    # inside `ip netns exec` (it mounts a fresh /sys without /sys/fs/cgroup); the v1 plugin just loads.
    (run / "cgroup.conf").write_text("CgroupPlugin=cgroup/v1\n")
    nodes = "\n".join(f"NodeName={name} NodeAddr={slurm.cluster.host(name).address} CPUs={cpus} State=UNKNOWN"
                      for name in slurm.nodes)
    logs = slurm.log_dir
    slurm.config.write_text(f"""\
# Written by test/harness/slurm.py for one test run.
ClusterName=harness
SlurmctldHost={CONTROLLER}({slurm.cluster.host(CONTROLLER).address})
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={slurm.munge_socket}
StateSaveLocation={run / 'state'}
SlurmdSpoolDir={run / 'spool'}/%n
SlurmctldPidFile={run / 'pids'}/slurmctld.pid
SlurmdPidFile={run / 'pids'}/slurmd-%n.pid
SlurmctldLogFile={logs}/slurmctld.log
SlurmdLogFile={logs}/slurmd-%n.log
SlurmctldDebug=info
SlurmdDebug=info
PlugStackConfig={run / 'plugstack.conf'}
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/builtin
# Schedule batch jobs as soon as they are submitted (Slurm defers them up to 3 s by default).
SchedulerParameters=batch_sched_delay=0
MpiDefault=none
# Node-local scratch: PMIx's client directories are named by uid, job and step only, so a /tmp that
# every node shares makes the step daemons of different nodes collide (mpi/pmix fails to start).
TmpFS={slurm.node_local_dir}
ReturnToService=2
JobRequeue=0
# Short timeouts: a node whose slurmd died is set DOWN, and its jobs ended, within about 20 s.
SlurmdTimeout=10
SlurmctldTimeout=10
MessageTimeout=5
TCPTimeout=2
KillWait=5
InactiveLimit=0
# Finished jobs stay visible to scontrol for 5 minutes.
MinJobAge=300
{nodes}
PartitionName={PARTITION} Nodes={','.join(slurm.nodes)} Default=YES MaxTime=INFINITE State=UP
""")


def _start_munged(slurm: SlurmCluster) -> None:
    """One munged for every node: its socket is a file each host reaches at the same path (slurm.conf names
    one socket for all), and MUNGE credentials do not depend on where they are decoded."""
    munge = slurm.run_dir / "munge"
    argv = [_binary_or_fail("munged"), "--foreground", f"--socket={slurm.munge_socket}",
            f"--key-file={munge / 'munge.key'}", f"--pid-file={munge / 'munged.pid'}",
            f"--log-file={slurm.log_dir / 'munged.log'}", f"--seed-file={munge / 'munged.seed'}"]
    daemon = slurm.cluster.start(CONTROLLER, argv, env=_daemon_environment(slurm), output=slurm.log_dir / "munged.log")
    slurm.daemons["munged"] = daemon
    deadline = time.monotonic() + _START_TIMEOUT_S
    while not slurm.munge_socket.is_socket():
        if not daemon.alive() or time.monotonic() > deadline:
            raise RuntimeError(f"munged did not create {slurm.munge_socket}:\n{slurm.logs()}")
        time.sleep(0.05)


def _start_slurm_daemons(slurm: SlurmCluster) -> None:
    env = _daemon_environment(slurm)
    slurm.daemons["slurmctld"] = slurm.cluster.start(
        CONTROLLER, [_binary_or_fail("slurmctld"), "-D", "-i"], env=env, output=slurm.log_dir / "slurmctld.out")
    for name in slurm.nodes:
        # Every process started in a host has a mount namespace of its own: bind this node's scratch into
        # slurmd's, which the step daemons and the job's processes inherit. slurmd is exec'd: the handle's
        # pid is slurmd's.
        argv = ["sh", "-c", 'mount --bind "$1" "$2" && shift 2 && exec "$@"', "sh",
                str(slurm.run_dir / "local" / name), str(slurm.node_local_dir),
                _binary_or_fail("slurmd"), "-D", "-N", name]
        slurm.daemons[f"slurmd {name}"] = slurm.cluster.start(name, argv, env=env,
                                                              output=slurm.log_dir / f"slurmd-{name}.out")
    deadline = time.monotonic() + _START_TIMEOUT_S
    while True:
        dead = [label for label, daemon in slurm.daemons.items() if not daemon.alive()]
        if dead:
            said = "\n".join(f"--- {path} ---\n{_tail(path, 20)}" for label in dead
                             if (path := slurm.log_dir / f"{label.replace(' ', '-')}.out").exists())
            raise RuntimeError(f"{', '.join(dead)} exited during start-up:\n{slurm.logs()}\n{said}")
        states: dict[str, str] | str
        try:
            states = slurm.node_states()
        except (RuntimeError, subprocess.TimeoutExpired) as error:  # slurmctld does not answer yet
            states = str(error)
        if isinstance(states, dict) and sorted(states) == sorted(slurm.nodes) and set(states.values()) == {"idle"}:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"the Slurm nodes are not all idle {_START_TIMEOUT_S:.0f} s after start (sinfo: "
                               f"{states}):\n{slurm.logs()}")
        time.sleep(0.1)


def _stop(slurm: SlurmCluster) -> None:
    """Cancel every job (waiting a little for them to end), stop the daemons (the slurmd's first, munged
    last), then kill whatever Slurm left running in the hosts."""
    controller = slurm.daemons.get("slurmctld")
    if controller is not None and controller.alive():
        try:
            jobs = slurm.check(CONTROLLER, ["squeue", "-h", "-o", "%i"], timeout=10).split()
            if jobs:
                slurm.run(CONTROLLER, ["scancel", *jobs], timeout=10)
                deadline = time.monotonic() + _STOP_TIMEOUT_S
                while slurm.check(CONTROLLER, ["squeue", "-h", "-o", "%i"], timeout=10).split():
                    if time.monotonic() > deadline:
                        break
                    time.sleep(0.2)
        except (RuntimeError, subprocess.TimeoutExpired):
            pass  # the daemons are stopped and what is left is killed below anyway
    order = sorted(slurm.daemons, key=lambda label: (not label.startswith("slurmd "), label == "munged"))
    for label in order:
        slurm.daemons[label].stop(_STOP_TIMEOUT_S)
    leftovers = sorted(_slurm_processes(slurm))
    if leftovers:
        survivors = signal_and_wait(leftovers, signal.SIGKILL, _STOP_TIMEOUT_S)
        if survivors:
            raise RuntimeError(f"Slurm processes survived SIGKILL: {survivors}")


def _slurm_processes(slurm: SlurmCluster) -> dict[int, str]:
    in_hosts: set[int] = set()
    for host in slurm.cluster.hosts:
        listed = subprocess.run(["ip", "netns", "pids", host.namespace], capture_output=True, text=True,
                                check=False)
        in_hosts.update(int(pid) for pid in listed.stdout.split() if pid.isdigit())
    table = read_process_table()
    found = {daemon.pid for daemon in slurm.daemons.values() if daemon.alive()}
    for pid in in_hosts:
        if _command_name(pid) == "slurmstepd":
            found |= {pid} | descendants(table, pid)
        elif _started_by_a_job(pid):
            found.add(pid)
    return {pid: name for pid in sorted(found) if (name := _command_name(pid)) is not None}


def _command_name(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return None


def _started_by_a_job(pid: int) -> bool:
    try:
        return b"\0SLURM_JOB_ID=" in b"\0" + Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return False


def _daemon_environment(slurm: SlurmCluster) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin") + ":/usr/sbin:/sbin",
            "SLURM_CONF": str(slurm.config), "LANG": "C", "LC_ALL": "C"}


def _binary(name: str) -> str | None:
    found = shutil.which(name)
    if found is not None:
        return found
    for directory in ("/usr/sbin", "/sbin", "/usr/local/sbin"):
        if os.access(f"{directory}/{name}", os.X_OK):
            return f"{directory}/{name}"
    return None


def _binary_or_fail(name: str) -> str:
    found = _binary(name)
    if found is None:
        raise RuntimeError(f"{name} is not installed")
    return found


def _tail(path: Path, lines: int) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError as error:
        return f"({error})"
