"""The multi-host test harness itself: names, addresses, SSH and MPI between namespace hosts."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.hosts import HostCluster, can_make_hosts

reason = can_make_hosts()
if reason is not None:
    pytest.skip(reason, allow_module_level=True)
if shutil.which("sshd") is None and not Path("/usr/sbin/sshd").exists():
    pytest.skip("multi-host tests need sshd (apt-get install openssh-server)", allow_module_level=True)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostCluster]:
    with HostCluster(2, tmp_path_factory.mktemp("hosts")) as hosts:
        yield hosts


def test_each_host_has_its_own_name_and_sees_the_others(cluster: HostCluster) -> None:
    for name in ("algo-1", "algo-2"):
        assert cluster.run(name, ["hostname"]).stdout.strip() == name
        python = "import socket; print(socket.gethostname(), socket.gethostbyname('algo-2'))"
        assert cluster.run(name, [sys.executable, "-c", python]).stdout.split() == [name, "10.77.0.2"]


def test_ssh_between_hosts_with_the_run_keys(cluster: HostCluster) -> None:
    result = cluster.run("algo-1", cluster.ssh_command("algo-2", ["hostname"]))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "algo-2"


def test_each_host_sees_its_own_base_dir_at_the_shared_path(cluster: HostCluster) -> None:
    for host in cluster.hosts:
        (host.base / "marker").write_text(host.name)
    marker = str(cluster.base_dir / "marker")
    assert cluster.run("algo-1", ["cat", marker]).stdout == "algo-1"
    assert cluster.run("algo-2", ["cat", marker]).stdout == "algo-2"
    # What sshd starts inherits its host's view, as mpirun's remote daemons do.
    assert cluster.run("algo-1", cluster.ssh_command("algo-2", ["cat", marker])).stdout == "algo-2"
    assert not (cluster.base_dir / "marker").exists()


def test_mpi_across_two_hosts(cluster: HostCluster) -> None:
    pytest.importorskip("mpi4py")
    if shutil.which("mpirun") is None:
        pytest.skip("needs Open MPI's mpirun (apt-get install openmpi-bin)")
    script = "from mpi4py import MPI; import socket; c = MPI.COMM_WORLD; print(c.allgather((c.Get_rank(), socket.gethostname())))"
    command = ["mpirun", "--allow-run-as-root", "-H", "algo-1:1,algo-2:1", "-np", "2",
               "-mca", "plm_rsh_agent", f"ssh -F {cluster.ssh_config}",
               "-mca", "btl_tcp_if_include", "eth0", "-mca", "oob_tcp_if_include", "eth0",
               # Debian's Open MPI prefers the UCX pml, which hangs over veth: use ob1 as our launcher does.
               "-mca", "pml", "ob1", "-mca", "btl", "^openib,ofi",
               sys.executable, "-c", script]
    result = cluster.run("algo-1", command, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["[(0, 'algo-1'), (1, 'algo-2')]"] * 2


def test_teardown_leaves_no_namespace(tmp_path: Path) -> None:
    with HostCluster(2, tmp_path, start_sshd=False) as hosts:
        namespaces = [host.namespace for host in hosts.hosts] + [hosts.switch]
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    assert not [name for name in namespaces if name in listed]
    assert not [name for name in namespaces if (Path("/etc/netns") / name).exists()]
