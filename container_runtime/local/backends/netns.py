"""The `netns` backend: several "hosts" on one machine, network namespaces joined by a bridge (root only).

Each host gets its own network namespace with an `eth0` on a private bridge, its own name
in a UTS namespace (so `socket.gethostname()` is `algo-N`), an `/etc/hosts` view naming every
host, and SSH keys and configs made for this run: the runtime's own sshd on each host (MPI jobs)
uses them. Like the
`/opt/ml` of a container, every host sees its own base dir at one shared path
(`HostCluster.base_dir`): each process started on a host runs in a mount namespace where the
host's directory is bind-mounted there, and processes that sshd or mpirun start inherit it.
Only the addresses inside these namespaces are used. Everything is torn down on exit, also
when a job or test fails. Needs root (`ip netns`).
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from container_runtime.local.backends.base import Backend, HostLaunch, HostSet
from container_runtime.local.backends.commands import host_environment, runtime_command
from container_runtime.local.errors import LocalModeError
from container_runtime.local.layout import JobLayout
from container_runtime.process import PIPE, ProcessGroup
from container_runtime.process.group import Output

SUBNET = "10.77.0"
#: Not 22 (the machine may run its own sshd) nor TensorFlow's 2222/2223.
SSH_PORT = 2022


def can_make_hosts() -> str | None:
    """None when this process can build hosts; otherwise the reason it cannot."""
    if os.geteuid() != 0:
        return "several hosts on one machine need root (to create network namespaces)"
    for tool in ("ip", "unshare"):
        if shutil.which(tool) is None:
            return f"several hosts on one machine need {tool!r} (apt-get install iproute2 util-linux)"
    return None


@dataclass
class Host:
    name: str
    namespace: str
    address: str
    #: This host's files, seen from outside the cluster.
    base: Path
    #: Where every process on this host sees `base`.
    mount_point: Path

    def command(self, argv: Sequence[str]) -> list[str]:
        """`argv` run inside this host: its network namespace, /etc/hosts view, hostname and base dir."""
        enter = 'hostname "$1" && mount --bind "$2" "$3" && shift 3 && exec "$@"'
        return ["ip", "netns", "exec", self.namespace, "unshare", "--uts", "--mount", "sh", "-c", enter,
                "sh", self.name.split(".")[0], str(self.base), str(self.mount_point), *argv]


@dataclass
class HostCluster:
    """A context manager building `count` hosts named algo-1..algo-N."""

    count: int
    root: Path
    run_id: str = field(default_factory=lambda: secrets.token_hex(3))
    #: Host names in index order (default algo-1..algo-N); a name with dots (a pod's `job-0.service`)
    #: resolves in full and by its first label, which is also the host's own hostname.
    names: Sequence[str] | None = None
    hosts: list[Host] = field(default_factory=list)
    processes: list[ProcessGroup] = field(default_factory=list)
    ssh_dir: Path | None = None

    @property
    def switch(self) -> str:
        return f"cr{self.run_id}-sw"

    @property
    def base_dir(self) -> Path:
        """The path at which each host sees its own base dir (its `/opt/ml`)."""
        return self.root / "opt_ml"

    @property
    def ssh_config(self) -> Path:
        """The client config (port, per-run key, no host-key checks) for `ssh -F`."""
        return self._ssh_dir / "ssh_config"

    @property
    def sshd_config(self) -> Path:
        """The server config with this run's host key and authorized key."""
        return self._ssh_dir / "sshd_config"

    @property
    def _ssh_dir(self) -> Path:
        if self.ssh_dir is None:
            raise RuntimeError("the cluster is not built")
        return self.ssh_dir

    def __enter__(self) -> HostCluster:
        try:
            self._build()
        except BaseException:
            self._teardown()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._teardown()

    def host(self, name: str) -> Host:
        return next(host for host in self.hosts if host.name == name)

    def start(self, name: str, argv: Sequence[str], env: Mapping[str, str] | None = None,
              output: Output = PIPE) -> ProcessGroup:
        """`argv` on host `name`, in its own session; ended at the latest when the cluster is torn down."""
        handle = ProcessGroup.start(self.host(name).command(argv), label=f"{argv[0]} on {name}", output=output,
                                    env=dict(env or os.environ))
        self.processes.append(handle)
        return handle

    def _build(self) -> None:
        self.ssh_dir = Path(tempfile.mkdtemp(prefix=f"cr{self.run_id}-ssh-", dir=self.root))
        _ip("netns", "add", self.switch)
        _ip("-n", self.switch, "link", "add", "br0", "type", "bridge")
        _ip("-n", self.switch, "link", "set", "br0", "up")
        self.base_dir.mkdir(parents=True, exist_ok=True)
        names = list(self.names or [f"algo-{index}" for index in range(1, self.count + 1)])
        if len(names) != self.count or len(set(names)) != self.count:
            raise ValueError(f"{self.count} hosts need {self.count} different names, got {names}")
        for index, name in enumerate(names, start=1):
            host = Host(name, f"cr{self.run_id}-h{index}", f"{SUBNET}.{index}", self.root / name, self.base_dir)
            self.hosts.append(host)
            host.base.mkdir(parents=True, exist_ok=True)
            _ip("netns", "add", host.namespace)
            _ip("link", "add", "eth0", "netns", host.namespace, "type", "veth", "peer", "name", f"p{index}",
                "netns", self.switch)
            _ip("-n", self.switch, "link", "set", f"p{index}", "master", "br0", "up")
            _ip("-n", host.namespace, "addr", "add", f"{host.address}/24", "dev", "eth0")
            _ip("-n", host.namespace, "link", "set", "eth0", "up")
            _ip("-n", host.namespace, "link", "set", "lo", "up")
        lines = "".join(
            f"{host.address} {host.name}" + (f" {host.name.split('.')[0]}" if "." in host.name else "") + "\n"
            for host in self.hosts
        )
        for host in self.hosts:
            etc = Path("/etc/netns") / host.namespace
            etc.mkdir(parents=True, exist_ok=True)
            (etc / "hosts").write_text(f"127.0.0.1 localhost\n{lines}")
        self._write_ssh_files()

    def _write_ssh_files(self) -> None:
        keys = self._ssh_dir
        for key in ("id_ed25519", "host_ed25519"):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(keys / key)], check=True)
        shutil.copy(keys / "id_ed25519.pub", keys / "authorized_keys")
        (keys / "authorized_keys").chmod(0o600)
        (keys / "sshd_config").write_text(
            f"Port {SSH_PORT}\nHostKey {keys / 'host_ed25519'}\nPermitRootLogin prohibit-password\n"
            "PubkeyAuthentication yes\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n"
            f"StrictModes no\nAuthorizedKeysFile {keys / 'authorized_keys'}\nPidFile none\nAcceptEnv *\n"
        )
        self.ssh_config.write_text(
            f"Host *\n  Port {SSH_PORT}\n  User root\n  IdentityFile {keys / 'id_ed25519'}\n"
            "  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n  LogLevel ERROR\n  BatchMode yes\n"
            "  ConnectTimeout 5\n"
        )

    def _teardown(self) -> None:
        for process in self.processes:
            process.stop(0)  # what is still running at teardown has had its chance: SIGKILL at once
        for host in self.hosts:
            _pids_in_namespace_killed(host.namespace)
            subprocess.run(["ip", "netns", "del", host.namespace], capture_output=True, check=False)
            shutil.rmtree(Path("/etc/netns") / host.namespace, ignore_errors=True)
        subprocess.run(["ip", "netns", "del", self.switch], capture_output=True, check=False)
        if self.ssh_dir is not None:
            shutil.rmtree(self.ssh_dir, ignore_errors=True)


def _pids_in_namespace_killed(namespace: str) -> None:
    listed = subprocess.run(["ip", "netns", "pids", namespace], capture_output=True, text=True, check=False)
    for pid in listed.stdout.split():
        try:
            os.kill(int(pid), signal.SIGKILL)
        except (ProcessLookupError, ValueError):
            pass


def _ip(*arguments: str) -> None:
    result = subprocess.run(["ip", *arguments], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"ip {' '.join(arguments)}: {result.stderr.strip()}")


def run_id_for(job_dir: Path) -> str:
    """The namespaces' name prefix for a job: derived from its (never reused) dir, so it can be found again."""
    return hashlib.sha256(str(job_dir).encode()).hexdigest()[:6]


class _NamespaceHosts(HostSet):
    description = "network-namespace hosts"

    def __init__(self, layout: JobLayout, hosts: Sequence[str]) -> None:
        self.cluster = HostCluster(len(hosts), layout.hosts_dir, run_id=run_id_for(layout.root))

    def __enter__(self) -> _NamespaceHosts:
        self.cluster.__enter__()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.cluster.__exit__(exc_type, exc, traceback)

    def start(self, launch: HostLaunch) -> ProcessGroup:
        cluster = self.cluster
        env = host_environment(
            launch.environment, cluster.base_dir, SM_SSHD_CONFIG=str(cluster.sshd_config), SM_SSH_PORT=str(SSH_PORT),
            OMPI_MCA_plm_rsh_agent=f"ssh -F {cluster.ssh_config}",
        )
        return cluster.start(launch.host, runtime_command("train"), env=env)


class NamespaceBackend(Backend):
    name = "netns"
    serves_endpoints = False

    def check(self, host_count: int, jobs_dir: Path | None = None) -> None:
        reason = can_make_hosts()
        if reason is not None:
            raise LocalModeError(f"instance count {host_count}: {reason}; run as root, or use an instance count of 1")

    def hosts(self, layout: JobLayout, hosts: Sequence[str]) -> HostSet:
        self.check(len(hosts))
        return _NamespaceHosts(layout, hosts)
