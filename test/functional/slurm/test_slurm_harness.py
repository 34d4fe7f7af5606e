"""The Slurm harness itself: a real slurmctld and a slurmd per namespace host, what jobs see there, how
signals and a dead node reach them, and how MPI launches under it (the `slurm` backend's ground)."""

from __future__ import annotations

import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from container_runtime.config.engines import expand_nodelist, slurm_identity
from container_runtime.process.proc_table import process_entry
from harness.hosts import HostCluster
from harness.slurm import CONTROLLER, SlurmCluster, can_run_slurm, running_slurm

NODES = ["algo-1", "algo-2"]
#: How long the controller may take to notice a node whose slurmd died and end its job (SlurmdTimeout=10:
#: measured here 15-18 s, for a dead slurmd and for a whole dead host alike).
DEAD_NODE_BOUND_S = 45.0

RECORD = """\
import json, os, socket, sys
shared, base_dir, local_dir = sys.argv[1:4]
node = os.environ["SLURMD_NODENAME"]
with open(os.path.join(local_dir, "scratch"), "w") as scratch:
    scratch.write(node)
seen = {"hostname": socket.gethostname(), "environ": dict(os.environ),
        "base_dir_marker": open(os.path.join(base_dir, "marker")).read()}
with open(os.path.join(shared, f"record-{node}.json"), "w") as out:
    json.dump(seen, out)
"""

ON_TERM = """\
import os, signal, sys, time
shared = sys.argv[1]
node = os.environ["SLURMD_NODENAME"]
def on_term(signum, frame):
    with open(os.path.join(shared, f"term-{node}"), "w") as marker:
        marker.write(str(signum))
    sys.exit(0)
signal.signal(signal.SIGTERM, on_term)
with open(os.path.join(shared, f"started-{node}"), "w") as marker:
    marker.write(str(os.getpid()))
time.sleep(300)
"""


def wait_for(condition: Callable[[], bool], timeout: float, what: str, slurm: SlurmCluster) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not within {timeout:.0f} s:\n{slurm.logs()}")
        time.sleep(0.1)


def batch_script(slurm: SlurmCluster, name: str, body: str) -> Path:
    script = slurm.shared_dir / name
    script.write_text(f"#!/bin/bash\nset -u\n{body}")
    return script


def squeue_state(slurm: SlurmCluster, job: str) -> str:
    return slurm.check(CONTROLLER, ["squeue", "-h", "-t", "all", "-j", job, "-o", "%T %N"]).strip()


def test_srun_runs_one_task_on_each_node(slurm_cluster: SlurmCluster) -> None:
    result = slurm_cluster.run(CONTROLLER, ["srun", "-N2", "--ntasks-per-node=1", "hostname"])
    assert result.returncode == 0, result.stderr
    assert sorted(result.stdout.split()) == NODES
    # Once the job has completed (briefly "comp" or "alloc" right after srun returns), both nodes are idle again.
    wait_for(lambda: slurm_cluster.node_states() == {"algo-1": "idle", "algo-2": "idle"}, 20, "idle nodes",
             slurm_cluster)


def test_batch_job_runs_a_step_on_each_node_with_slurms_environment(slurm_cluster: SlurmCluster) -> None:
    slurm = slurm_cluster
    for host in slurm.cluster.hosts:
        (host.base / "marker").write_text(host.name)
    (slurm.shared_dir / "record.py").write_text(RECORD)
    go = slurm.shared_dir / "go"
    script = batch_script(slurm, "record.sh", f"""\
srun --ntasks-per-node=1 {sys.executable} {slurm.shared_dir}/record.py {slurm.shared_dir} {slurm.cluster.base_dir} \
{slurm.node_local_dir}
for i in $(seq 600); do [ -e {go} ] && break; sleep 0.1; done
""")
    job = slurm.submit(script, "-N2", "--ntasks-per-node=1", f"--output={slurm.shared_dir}/record.out")
    records = [slurm.shared_dir / f"record-{node}.json" for node in NODES]
    wait_for(lambda: all(record.exists() for record in records), 30, "both steps' records", slurm)
    assert squeue_state(slurm, job) == "RUNNING algo-[1-2]"
    go.touch()
    assert slurm.wait_for_job(job, timeout=30) == "COMPLETED", (slurm.shared_dir / "record.out").read_text()
    assert squeue_state(slurm, job).split()[0] == "COMPLETED"

    for node, record in zip(NODES, records, strict=True):
        seen = json.loads(record.read_text())
        environ = seen["environ"]
        assert seen["hostname"] == node
        assert environ["SLURMD_NODENAME"] == node
        assert environ["SLURM_JOB_NODELIST"] in ("algo-[1-2]", "algo-1,algo-2")
        assert expand_nodelist(environ["SLURM_JOB_NODELIST"]) == NODES
        assert environ["SLURM_JOB_ID"] == job
        assert environ["SLURM_NNODES"] == "2"
        assert environ["SLURM_PROCID"] == str(NODES.index(node))
        # The runtime reads this very environment when there is no resourceconfig.json.
        identity = slurm_identity(environ)
        assert identity is not None
        assert identity.resource_config == {"current_host": node, "hosts": NODES}
        # A step sees its own host's base dir, as every process started in that host does...
        assert seen["base_dir_marker"] == node
        # ...and its node's own scratch (TmpFS).
        assert (slurm.run_dir / "local" / node / "scratch").read_text() == node


@pytest.mark.parametrize("launch", ["sbatch", "srun from the login node"])
def test_scancel_signal_reaches_the_steps_processes(slurm_cluster: SlurmCluster, launch: str) -> None:
    slurm = slurm_cluster
    (slurm.shared_dir / "on_term.py").write_text(ON_TERM)
    step = ["srun", "-N2", "--ntasks-per-node=1", sys.executable, str(slurm.shared_dir / "on_term.py"),
            str(slurm.shared_dir)]
    srun = None
    if launch.startswith("sbatch"):
        job = slurm.submit(batch_script(slurm, "on_term.sh", " ".join(step) + "\n"), "-N2", "--ntasks-per-node=1",
                           f"--output={slurm.shared_dir}/on_term.out")
        scancel = ["scancel", "-s", "TERM", job]
    else:
        srun = subprocess.Popen(slurm.client(CONTROLLER, step), env=slurm.environment(), stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, start_new_session=True)
        scancel = ["scancel", "-s", "TERM"]
    try:
        wait_for(lambda: all((slurm.shared_dir / f"started-{node}").exists() for node in NODES), 30,
                 "the step's processes on both nodes", slurm)
        if srun is not None:
            job = slurm.check(CONTROLLER, ["squeue", "-h", "-o", "%i"]).strip()
            scancel.append(job)
        slurm.check(CONTROLLER, scancel)
        wait_for(lambda: all((slurm.shared_dir / f"term-{node}").exists() for node in NODES), 20,
                 "SIGTERM handled on both nodes", slurm)
        assert [(slurm.shared_dir / f"term-{node}").read_text() for node in NODES] == [str(signal.SIGTERM.value)] * 2
        assert slurm.wait_for_job(job, timeout=30) == "COMPLETED"  # the handler exits 0
        if srun is not None:
            output, _ = srun.communicate(timeout=30)
            assert srun.returncode == 0, output
    finally:
        if srun is not None and srun.poll() is None:
            srun.kill()
            srun.wait()


@pytest.mark.parametrize("dies", ["slurmd", "the whole host"])
def test_a_dead_node_fails_the_job_within_a_bound_and_teardown_stays_clean(tmp_path: Path, dies: str) -> None:
    reason = can_run_slurm()
    if reason is not None:
        pytest.skip(reason)
    with HostCluster(2, tmp_path, start_sshd=False) as hosts:
        with running_slurm(hosts, tmp_path) as slurm:
            script = batch_script(slurm, "long.sh",
                                  "srun --ntasks-per-node=1 sh -c 'touch $0/started-$SLURMD_NODENAME; exec sleep 300' "
                                  f"{slurm.shared_dir}\n")
            job = slurm.submit(script, "-N2", "--ntasks-per-node=1", f"--output={slurm.shared_dir}/long.out")
            wait_for(lambda: all((slurm.shared_dir / f"started-{node}").exists() for node in NODES), 30,
                     "the step on both nodes", slurm)
            if dies == "slurmd":
                assert slurm.slurmd("algo-2").signal_leader(signal.SIGKILL)
            else:
                kill_every_process_in(hosts.host("algo-2").namespace)
            killed = time.monotonic()
            state = slurm.wait_for_job(job, timeout=DEAD_NODE_BOUND_S)
            noticed = time.monotonic() - killed
            print(f"job {job} was {state} {noticed:.1f} s after {dies} of algo-2 was killed")
            assert state == "NODE_FAIL"
            assert slurm.node_states()["algo-2"].startswith("down")
            left = slurm.processes()
            # On a node whose slurmd crashed, the step daemon and the task live on; the harness kills them.
            assert list(left.values()).count("sleep") == (1 if dies == "slurmd" else 0)
            run_dir = slurm.run_dir
        assert_all_gone(left, hosts, run_dir)
    assert_no_namespace_left(hosts)


def test_teardown_cancels_jobs_and_leaves_no_daemon_nor_namespace(tmp_path: Path) -> None:
    reason = can_run_slurm()
    if reason is not None:
        pytest.skip(reason)
    with HostCluster(2, tmp_path, start_sshd=False) as hosts:
        with running_slurm(hosts, tmp_path) as slurm:
            script = batch_script(slurm, "long.sh", "srun --ntasks-per-node=1 sleep 300\n")
            job = slurm.submit(script, "-N2", "--ntasks-per-node=1", f"--output={slurm.shared_dir}/long.out")
            wait_for(lambda: list(slurm.processes().values()).count("sleep") == 2, 30, "a sleep on each node", slurm)
            left = slurm.processes()
            assert {"munged", "slurmctld", "slurmd", "slurmstepd", "sleep"} <= set(left.values())
            run_dir = slurm.run_dir
        assert_all_gone(left, hosts, run_dir)
        assert job
    assert_no_namespace_left(hosts)


def kill_every_process_in(namespace: str) -> None:
    listed = subprocess.run(["ip", "netns", "pids", namespace], capture_output=True, text=True, check=True)
    for pid in listed.stdout.split():
        try:
            os.kill(int(pid), signal.SIGKILL)
        except ProcessLookupError:
            pass


def assert_all_gone(pids: dict[int, str], hosts: HostCluster, run_dir: Path) -> None:
    alive = {pid: name for pid, name in pids.items() if (entry := process_entry(pid)) is not None and not entry.zombie}
    assert not alive, f"still running after the Slurm harness exited: {alive}"
    for host in hosts.hosts:
        listed = subprocess.run(["ip", "netns", "pids", host.namespace], capture_output=True, text=True, check=True)
        assert listed.stdout.split() == [], f"processes left in {host.name}"
    assert not run_dir.exists()


def assert_no_namespace_left(hosts: HostCluster) -> None:
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    names = [host.namespace for host in hosts.hosts] + [hosts.switch]
    assert not [name for name in names if name in listed]


MPI_RANKS = ("from mpi4py import MPI; import socket; c = MPI.COMM_WORLD; "
             "print(c.allgather((c.Get_rank(), socket.gethostname())), flush=True)")


def test_mpirun_in_a_batch_job_starts_ranks_on_both_nodes_through_srun(slurm_cluster: SlurmCluster) -> None:
    """Open MPI's plm/slurm starts its orted on the other node with srun: no sshd anywhere."""
    if shutil.which("mpirun") is None:
        pytest.skip("needs Open MPI's mpirun (apt-get install openmpi-bin)")
    pytest.importorskip("mpi4py")
    slurm = slurm_cluster
    out = slurm.shared_dir
    tcp = "--mca pml ob1 --mca btl tcp,self --mca btl_tcp_if_include eth0 --mca oob_tcp_if_include eth0"
    script = batch_script(slurm, "mpi.sh", f"""\
mpirun --allow-run-as-root -np 2 --map-by node hostname > {out}/hostnames
mpirun --allow-run-as-root -np 2 --map-by node --mca plm slurm {tcp} {sys.executable} -c "{MPI_RANKS}" > {out}/ranks
""")
    job = slurm.submit(script, "-N2", "--ntasks-per-node=1", f"--output={out}/mpi.out")
    state = slurm.wait_for_job(job, timeout=90)
    assert state == "COMPLETED", (out / "mpi.out").read_text()
    assert sorted((out / "hostnames").read_text().split()) == NODES
    assert (out / "ranks").read_text().splitlines() == ["[(0, 'algo-1'), (1, 'algo-2')]"] * 2


def test_srun_launches_mpi_ranks_directly_with_pmix(slurm_cluster: SlurmCluster) -> None:
    """`srun --mpi=pmix`: Slurm's PMIx server in each step daemon wires up Open MPI's ranks (no mpirun)."""
    if not glob.glob("/usr/lib/*/pmix2/lib/libpmix.so"):
        pytest.skip("Debian's mpi/pmix plugin loads libpmix.so, which only libpmix-dev ships "
                    "(apt-get install libpmix-dev)")
    pytest.importorskip("mpi4py")
    result = slurm_cluster.run(CONTROLLER, ["srun", "--mpi=pmix", "-N2", "--ntasks-per-node=1", sys.executable,
                                            "-c", MPI_RANKS], timeout=90,
                               env={"OMPI_MCA_pml": "ob1", "OMPI_MCA_btl": "tcp,self",
                                    "OMPI_MCA_btl_tcp_if_include": "eth0"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["[(0, 'algo-1'), (1, 'algo-2')]"] * 2
