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
fresh directory under `root` (or, when `root`'s path is too long for the Unix sockets Slurm and
MUNGE make there, under the system temporary directory), removed on exit. The daemons' logs are in
`root/slurm-logs/` and stay, for the test's post-mortem. `root` must not be under the cluster's
`base_dir`: each host sees its own directory there, and Slurm's shared state and the job
directory (`SlurmCluster.shared_dir`) must be the same on every node, as on a real cluster's NFS.

On exit, also when the block raised: every job is cancelled, the slurmd's, slurmctld and munged get
SIGTERM (SIGKILL after a bound), and whatever Slurm started in the hosts (slurmstepd and the job
steps' processes) is killed.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
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
_DAEMONS = ("slurmctld", "slurmd", "munged")


def can_run_slurm() -> str | None:
    """Why `running_slurm` cannot work here (a pytest skip reason), or None when it can."""
    if os.geteuid() != 0:
        return "a Slurm cluster on namespace hosts needs root (network namespaces, SlurmUser=root)"
    if shutil.which("ip") is None or shutil.which("unshare") is None:
        return "a Slurm cluster on namespace hosts needs 'ip' and 'unshare' (apt-get install iproute2 util-linux)"
    if _binary("munged") is None:
        return "a Slurm cluster needs munged (apt-get install munge)"
    for daemon, package in (("slurmctld", "slurmctld"), ("slurmd", "slurmd")):
        if _binary(daemon) is None:
            return f"a Slurm cluster needs {daemon} (apt-get install slurm-wlm, or {package})"
    for client in ("sbatch", "srun", "squeue", "scancel", "sinfo", "scontrol"):
        if shutil.which(client) is None:
            return f"a Slurm cluster needs the client {client} (apt-get install slurm-client)"
    return None


@dataclass
class SlurmCluster:
    """A running Slurm cluster: one node per host of `hosts`, the controller on algo-1."""

    hosts: HostCluster
    #: The run's private files: config, key, state, spool, sockets (removed on exit).
    run_dir: Path
    #: The daemons' logs (kept).
    log_dir: Path
    #: A directory every node sees at the same path: job scripts and their outputs go here.
    shared_dir: Path
    nodes: list[str]
    daemons: dict[str, ProcessGroup] = field(default_factory=dict)

    @property
    def config(self) -> Path:
        return self.run_dir / "slurm.conf"

    @property
    def node_local_dir(self) -> Path:
        """The path at which every slurmd, and what it starts, sees its own node's scratch directory."""
        return self.run_dir / "node-local"

    @property
    def munge_socket(self) -> Path:
        return self.run_dir / "munge" / "munge.socket"

    def environment(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """This process's environment plus what every Slurm client needs (`SLURM_CONF`; MUNGE's socket
        is in the config). Slurm's own variables inherited from an outer job are dropped."""
        env = {name: value for name, value in os.environ.items() if not name.startswith(("SLURM_", "SBATCH_",
                                                                                          "SALLOC_", "SRUN_"))}
        env["SLURM_CONF"] = str(self.config)
        env.update(extra or {})
        return env

    def client(self, argv: Sequence[str], host: str = CONTROLLER) -> list[str]:
        """The argv that runs a Slurm client (sbatch, srun, squeue, scancel...) on `host`; run it with
        `environment()`."""
        return self.hosts.host(host).command(argv)

    def run(self, argv: Sequence[str], host: str = CONTROLLER, timeout: float = _CLIENT_TIMEOUT_S,
            env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """Run a client on `host` and return what it printed (no check of its exit status)."""
        return subprocess.run(self.client(argv, host), env=self.environment(env), capture_output=True, text=True,
                              timeout=timeout, check=False)

    def check(self, argv: Sequence[str], host: str = CONTROLLER, timeout: float = _CLIENT_TIMEOUT_S,
              env: Mapping[str, str] | None = None) -> str:
        """Run a client on `host`; its stdout, or a RuntimeError quoting its stderr when it failed."""
        result = self.run(argv, host, timeout, env)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} on {host} exited with {result.returncode}: "
                               f"{result.stderr.strip() or result.stdout.strip()}")
        return result.stdout

    def submit(self, script: Path, *options: str, env: Mapping[str, str] | None = None) -> str:
        """`sbatch --parsable` the script from algo-1; the job id."""
        return self.check(["sbatch", "--parsable", *options, str(script)], env=env).strip().split(";")[0]

    def node_states(self) -> dict[str, str]:
        """Each node's state as `sinfo` says it (idle, alloc, down*, ...)."""
        output = self.check(["sinfo", "-h", "-N", "-o", "%N %t"])
        return dict(line.split() for line in output.splitlines() if line.strip())

    def job_state(self, job_id: str) -> str | None:
        """The job's state from `scontrol show job` (PENDING, RUNNING, COMPLETED, CANCELLED, NODE_FAIL...),
        None once the controller has forgotten it."""
        result = self.run(["scontrol", "-o", "show", "job", job_id])
        if result.returncode != 0:
            return None
        for word in result.stdout.split():
            if word.startswith("JobState="):
                return word.partition("=")[2]
        return None

    def wait_for_job(self, job_id: str, timeout: float = 60.0, states: Sequence[str] | None = None) -> str:
        """Wait until the job reaches one of `states` (default: any final state); that state."""
        final = states or ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY",
                           "BOOT_FAIL", "DEADLINE", "PREEMPTED")
        deadline = time.monotonic() + timeout
        state = None
        while time.monotonic() < deadline:
            state = self.job_state(job_id)
            if state in final:
                return state
            time.sleep(0.2)
        raise TimeoutError(f"job {job_id} is {state} after {timeout:.0f} s, not one of {', '.join(final)}:\n"
                           f"{self.logs()}")

    def logs(self, lines: int = 30) -> str:
        """The tail of every daemon's log, for error messages."""
        parts = []
        for path in sorted(self.log_dir.glob("*.log")):
            parts.append(f"--- {path} ---\n{_tail(path, lines)}")
        return "\n".join(parts)


@contextmanager
def running_slurm(hosts: HostCluster, root: Path, cpus: int = 2) -> Iterator[SlurmCluster]:
    """A Slurm cluster on every host of the already-built `hosts`, for the duration of the block."""
    reason = can_run_slurm()
    if reason is not None:
        raise RuntimeError(reason)
    root = Path(root).resolve()
    if root == hosts.base_dir or hosts.base_dir in root.parents:
        raise ValueError(f"{root} is under {hosts.base_dir}, which each host sees differently: Slurm needs a "
                         "directory every node shares")
    log_dir = root / "slurm-logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    parent = root if len(str(root)) + len("/slurm-xxxxxxxx") + _LONGEST_SOCKET_NAME <= _MAX_SOCKET_PATH else None
    run_dir = Path(tempfile.mkdtemp(prefix="slurm-", dir=parent))
    shared_dir = root / "slurm-shared"
    shared_dir.mkdir(exist_ok=True)
    slurm = SlurmCluster(hosts, run_dir, log_dir, shared_dir, [host.name for host in hosts.hosts])
    try:
        _write_files(slurm, min(cpus, os.cpu_count() or 1))
        _start_munged(slurm)
        _start_slurm_daemons(slurm)
        yield slurm
    finally:
        try:
            _stop(slurm)
        finally:
            shutil.rmtree(run_dir, ignore_errors=True)


def _write_files(slurm: SlurmCluster, cpus: int) -> None:
    run = slurm.run_dir
    for directory in ("state", "spool", "pids"):
        (run / directory).mkdir(mode=0o700)
    (run / "munge").mkdir(mode=0o755)  # munged wants its socket's directory searchable by every user
    for name in slurm.nodes:
        (run / "spool" / name).mkdir(mode=0o700)
        (run / "local" / name).mkdir(mode=0o1777, parents=True)
    slurm.node_local_dir.mkdir()
    key = run / "munge" / "munge.key"
    key.touch(mode=0o600)
    key.write_bytes(secrets.token_bytes(1024))
    (run / "plugstack.conf").write_text("")  # not the machine's /etc/slurm/plugstack.conf
    # slurmd loads a cgroup plugin even when no plugin in slurm.conf uses cgroups, and autodetection fails
    # inside `ip netns exec` (it mounts a fresh /sys without /sys/fs/cgroup); the v1 plugin only loads.
    (run / "cgroup.conf").write_text("CgroupPlugin=cgroup/v1\n")
    nodes = "\n".join(f"NodeName={name} NodeAddr={slurm.hosts.host(name).address} CPUs={cpus} State=UNKNOWN"
                      for name in slurm.nodes)
    logs = slurm.log_dir
    slurm.config.write_text(f"""\
# Written by test/harness/slurm.py for one test run.
ClusterName=harness
SlurmctldHost={CONTROLLER}({slurm.hosts.host(CONTROLLER).address})
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
MpiDefault=none
# Node-local scratch (PMIx's client directories are named by job and step only: a /tmp every node
# shares would make the nodes' step daemons collide).
TmpFS={slurm.node_local_dir}
ReturnToService=2
JobRequeue=0
# Short timeouts: a dead node is noticed, and its jobs ended, within about a minute.
SlurmdTimeout=10
SlurmctldTimeout=10
MessageTimeout=5
InactiveLimit=0
KillWait=5
MinJobAge=300
TCPTimeout=2
{nodes}
PartitionName={PARTITION} Nodes={','.join(slurm.nodes)} Default=YES MaxTime=INFINITE State=UP
""")


def _start_munged(slurm: SlurmCluster) -> None:
    munge = slurm.run_dir / "munge"
    log = slurm.log_dir / "munged.log"
    argv = [_binary_or_fail("munged"), "--foreground", "--force", f"--socket={slurm.munge_socket}",
            f"--key-file={munge / 'munge.key'}", f"--pid-file={munge / 'munged.pid'}", f"--log-file={log}",
            f"--seed-file={munge / 'munged.seed'}"]
    slurm.daemons["munged"] = slurm.hosts.start(CONTROLLER, argv, env=_daemon_environment(slurm),
                                                output=slurm.log_dir / "munged.out")
    deadline = time.monotonic() + _START_TIMEOUT_S
    while not slurm.munge_socket.is_socket():
        if not slurm.daemons["munged"].alive() or time.monotonic() > deadline:
            raise RuntimeError(f"munged did not create {slurm.munge_socket}:\n{slurm.logs()}")
        time.sleep(0.05)


def _start_slurm_daemons(slurm: SlurmCluster) -> None:
    env = _daemon_environment(slurm)
    slurm.daemons["slurmctld"] = slurm.hosts.start(
        CONTROLLER, [_binary_or_fail("slurmctld"), "-D", "-i"], env=env, output=slurm.log_dir / "slurmctld.out")
    for name in slurm.nodes:
        # Each host's processes have a mount namespace of their own: bind this node's scratch there.
        argv = ["sh", "-c", 'mount --bind "$1" "$2" && shift 2 && exec "$@"', "sh",
                str(slurm.run_dir / "local" / name), str(slurm.node_local_dir), _binary_or_fail("slurmd"), "-D", "-N",
                name]
        slurm.daemons[f"slurmd {name}"] = slurm.hosts.start(name, argv, env=env,
                                                            output=slurm.log_dir / f"slurmd-{name}.out")
    deadline = time.monotonic() + _START_TIMEOUT_S
    states: dict[str, str] | str = {}
    while True:
        dead = [label for label, daemon in slurm.daemons.items() if not daemon.alive()]
        if dead:
            raise RuntimeError(f"{', '.join(dead)} exited during start-up:\n{slurm.logs()}")
        try:
            states = slurm.node_states()
        except RuntimeError as error:  # slurmctld not answering yet
            states = str(error)
        if isinstance(states, dict) and sorted(states) == sorted(slurm.nodes) and set(states.values()) == {"idle"}:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"the Slurm nodes are not all idle after {_START_TIMEOUT_S:.0f} s (sinfo: {states}):"
                               f"\n{slurm.logs()}")
        time.sleep(0.2)


def _stop(slurm: SlurmCluster) -> None:
    """Cancel every job, stop the daemons, then kill what Slurm left running in the hosts."""
    controller = slurm.daemons.get("slurmctld")
    if controller is not None and controller.alive():
        with contextlib.suppress(subprocess.TimeoutExpired, RuntimeError):
            jobs = slurm.check(["squeue", "-h", "-o", "%i"], timeout=10).split()
            if jobs:
                slurm.run(["scancel", "--full", *jobs], timeout=10)
    for label in sorted(slurm.daemons, key=lambda label: ("slurmd" not in label, label == "munged")):
        slurm.daemons[label].stop(_STOP_TIMEOUT_S)
    _kill_job_processes(slurm.hosts)


def _kill_job_processes(hosts: HostCluster) -> None:
    """SIGKILL every slurmstepd in the hosts with its descendants, and every process there that a job
    started (it has SLURM_JOB_ID in its environment), also those that left slurmstepd's tree."""
    in_hosts: set[int] = set()
    for host in hosts.hosts:
        listed = subprocess.run(["ip", "netns", "pids", host.namespace], capture_output=True, text=True, check=False)
        in_hosts.update(int(pid) for pid in listed.stdout.split() if pid.isdigit())
    table = read_process_table()
    doomed: set[int] = set()
    for pid in in_hosts:
        if _is_step_daemon(pid):
            doomed |= {pid} | descendants(table, pid)
        elif _started_by_a_job(pid):
            doomed.add(pid)
    if doomed:
        signal_and_wait(sorted(doomed), signal.SIGKILL, _STOP_TIMEOUT_S)


def _is_step_daemon(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip() == "slurmstepd"
    except OSError:
        return False


def _started_by_a_job(pid: int) -> bool:
    try:
        return b"\0SLURM_JOB_ID=" in b"\0" + Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return False


def _daemon_environment(slurm: SlurmCluster) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin") + ":/usr/sbin:/sbin",
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
