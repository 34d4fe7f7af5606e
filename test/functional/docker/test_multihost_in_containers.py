"""A two-host ChainerMN job in two containers, as SageMaker runs one: containers named and with
the hostname algo-1 and algo-2 on one user-defined network, each running `train` with its own
/opt/ml (its own resourceconfig.json). The runtime starts sshd in each (port 22, the image's
config); the master's mpirun logs into algo-2 with the image's root key, which every container
of the image trusts.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness.containers import logs, prepare_job, removed_afterwards, run_args, unique, user_network, wait_for_exit
from harness.docker_daemon import DockerDaemon

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

SCRIPT = Path(__file__).resolve().parents[3] / "examples" / "chainer" / "mnist_chainermn.py"
HOSTS = ["algo-1", "algo-2"]
#: rank 0's PrintReport rows as mpirun relays them: `[job,rank]<stdout>:ESC[J` epoch ... validation accuracy.
ROW = re.compile(r"^\[\d+,(\d+)\]<stdout>:\x1b\[J(\d+)\s+\S+\s+\S+\s+\S+\s+(\S+)", re.MULTILINE)


def test_chainermn_mnist_runs_over_mpi_across_two_containers(
    daemon: DockerDaemon, chainer_image: str, mnist_data: Path, tmp_path: Path
) -> None:
    jobs = {
        host: prepare_job(tmp_path / host, [SCRIPT], {"epochs": 3, "batch-size": 64, "communicator": "naive"},
                          mnist_data, {"current_host": host, "hosts": HOSTS, "network_interface_name": "eth0"})
        for host in HOSTS
    }
    suffix = unique("job")
    names = {host: f"{host}-{suffix}" for host in HOSTS}
    with user_network(daemon) as network, removed_afterwards(daemon, *names.values()):
        for host in reversed(HOSTS):  # the worker first: either order works, the waits are bounded
            daemon.run(*run_args(chainer_image, ["train"], mounts={jobs[host].base: "/opt/ml"}, network=network,
                                 name=names[host], hostname=host, aliases=[host], detach=True, remove=False))
        codes = {host: wait_for_exit(daemon, names[host], 600) for host in HOSTS}
        output = {host: logs(daemon, names[host]) for host in HOSTS}
    assert codes == {"algo-1": 0, "algo-2": 0}, output["algo-1"][-3000:] + output["algo-2"][-3000:]
    assert "Running 2 MPI processes (1 per host on 2 hosts)" in output["algo-1"]
    assert "Started sshd on port 22" in output["algo-2"]
    rows = ROW.findall(output["algo-1"])
    assert [int(epoch) for _, epoch, _ in rows] == [1, 2, 3], output["algo-1"][-3000:]
    assert {rank for rank, _, _ in rows} == {"0"}  # only rank 0 reports
    assert float(rows[-1][2]) >= 0.9
    assert "# MPI processes: 2" in output["algo-1"]
    # Only rank 0, on algo-1, saves the model; each host has its own /opt/ml.
    assert (jobs["algo-1"].model / "model.npz").is_file()
    assert not (jobs["algo-2"].model / "model.npz").exists()
    assert jobs["algo-1"].succeeded() and jobs["algo-2"].succeeded()
