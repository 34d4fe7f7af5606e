"""Overhead of a 2-host MPI job under `train`: wall time from starting `train` on both hosts to
both exiting, minus the time the trivial user script itself takes.

The hosts are network namespaces on this machine (the test harness in `test/harness/hosts.py`;
needs root, `ip`, sshd and Open MPI). Each round, in this process and alternating:
- `train` on algo-1 and algo-2 (sshd started by the runtime, workers waiting for the verdict);
- the bare `mpirun` a person would type for the same ranks, with sshd already running: the
  cost of MPI and SSH themselves;
- the user script alone, without MPI.
Reported: medians, the overhead (train minus script), and train against bare mpirun. The goal
is an overhead under 3 s; the runtime we replace sleeps at least 30 s on every such job.

    sudo python benchmarks/multihost.py [--runs 5]
    sudo python benchmarks/multihost.py --slurm [--runs 5]

`--slurm` measures local mode's `slurm` backend on a real Slurm cluster on the same namespace hosts
(the test harness's slurmctld and slurmd's): `container-runtime run --backend slurm` of a 2-node job
against the same trivial script under a bare `srun -N2` from the login node; the goal is at most
1.5 s more than the bare `srun`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "test"))

from harness.cluster_jobs import ClusterJob  # noqa: E402
from harness.hosts import HostCluster, can_make_hosts  # noqa: E402

GOAL_SECONDS = 3.0
SLURM_GOAL_SECONDS = 1.5
SCRIPT = "from mpi4py import MPI\nprint('rank', MPI.COMM_WORLD.Get_rank(), 'of', MPI.COMM_WORLD.Get_size())\n"


def wait_for_ssh(cluster: HostCluster, source: str, target: str) -> None:
    probe = cluster.host(source).command(cluster.ssh_command(target, ["true"]))
    while subprocess.run(probe, capture_output=True, check=False).returncode:
        time.sleep(0.05)


def time_train(job: ClusterJob) -> float:
    started = time.perf_counter()
    runs = job.run({"SM_PACKAGE_ARTIFACTS": "false"}, timeout=120)
    elapsed = time.perf_counter() - started
    for run in runs.values():
        if run.returncode != 0:
            raise SystemExit(f"train failed on {run.name}:\n{run.stderr}")
    return elapsed


def time_command(cluster: HostCluster, host: str, argv: list[str]) -> float:
    started = time.perf_counter()
    result = cluster.run(host, argv, timeout=120)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"{argv[0]} failed:\n{result.stderr}")
    return elapsed


def slurm_mode(runs: int) -> int:
    """local mode's slurm backend against a bare srun of the same script, on a real Slurm cluster."""
    from harness.local_cli import cli_command
    from harness.slurm import CONTROLLER, can_run_slurm, running_slurm

    reason = can_run_slurm()
    if reason is not None:
        raise SystemExit(reason)
    trivial = "import os\nprint('hello from', os.environ.get('SM_CURRENT_HOST', os.environ.get('SLURMD_NODENAME')))\n"
    with tempfile.TemporaryDirectory() as scratch, HostCluster(2, Path(scratch), start_sshd=False) as cluster, \
            running_slurm(cluster, Path(scratch)) as slurm:
        script = slurm.shared_dir / "trivial.py"
        script.write_text(trivial)
        home = slurm.shared_dir / "home"

        def timed(argv: list[str]) -> float:
            started = time.perf_counter()
            result = slurm.run(CONTROLLER, argv, timeout=120)
            elapsed = time.perf_counter() - started
            if result.returncode != 0:
                raise SystemExit(f"{argv[0]} failed:\n{result.stdout}\n{result.stderr}")
            return elapsed

        local_mode = [*cli_command(), "--home", str(home), "run", str(script), "--backend", "slurm",
                      "--instance-count", "2", "-e", "SM_PACKAGE_ARTIFACTS=false"]
        bare = ["srun", "-N2", "--ntasks-per-node=1", sys.executable, str(script)]
        timed(local_mode)  # warm the caches
        ours, srun = [], []
        for _ in range(runs):
            ours.append(timed(local_mode))
            srun.append(timed(bare))
    ours_s, srun_s = statistics.median(ours), statistics.median(srun)
    report = {
        "runs": runs,
        "local_mode_slurm_2_nodes_s": round(ours_s, 3),
        "bare_srun_2_nodes_s": round(srun_s, 3),
        "overhead_s": round(ours_s - srun_s, 3),
        "goal_overhead_s": SLURM_GOAL_SECONDS,
    }
    print(json.dumps(report, indent=2))
    passed = ours_s - srun_s <= SLURM_GOAL_SECONDS
    print(f"{'PASS' if passed else 'FAIL'} slurm backend overhead {ours_s - srun_s:.2f} s over bare srun "
          f"(goal <= {SLURM_GOAL_SECONDS} s)")
    return 0 if passed else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--slurm", action="store_true", help="the slurm backend against bare srun")
    args = parser.parse_args()
    reason = can_make_hosts()
    if reason is not None:
        raise SystemExit(reason)
    if args.slurm:
        return slurm_mode(args.runs)
    if shutil.which("mpirun") is None:
        raise SystemExit("needs Open MPI's mpirun (apt-get install openmpi-bin)")

    with tempfile.TemporaryDirectory() as scratch, HostCluster(2, Path(scratch), start_sshd=False) as cluster:
        job = ClusterJob(cluster, {"sagemaker_program": "trivial.py", "sagemaker_mpi_enabled": True})
        job.each(lambda host: (host.code / "trivial.py").write_text(SCRIPT))
        script = str(cluster.base_dir / "code" / "trivial.py")
        python = sys.executable
        bare_mpirun = [
            "mpirun", "--allow-run-as-root", "-np", "2", "--host", "algo-1:1,algo-2:1",
            "-mca", "plm_rsh_agent", f"ssh -F {cluster.ssh_config}",
            "-mca", "btl_tcp_if_include", "eth0", "-mca", "oob_tcp_if_include", "eth0", "-mca", "pml", "ob1",
            python, script,
        ]
        time_train(job)  # warm the page cache and Python's bytecode caches
        train_times, mpirun_times, script_times = [], [], []
        for _ in range(args.runs):
            train_times.append(time_train(job))
            # Bare mpirun needs sshd up on algo-2; start it the way an operator would, outside the timing.
            sshd = cluster.start("algo-2", [shutil.which("sshd") or "/usr/sbin/sshd", "-D", "-f",
                                            str(cluster.sshd_config)])
            wait_for_ssh(cluster, "algo-1", "algo-2")
            mpirun_times.append(time_command(cluster, "algo-1", bare_mpirun))
            sshd.stop(10)
            script_times.append(time_command(cluster, "algo-1", [python, script]))

    train_s = statistics.median(train_times)
    mpirun_s = statistics.median(mpirun_times)
    script_s = statistics.median(script_times)
    overhead = train_s - script_s
    report = {
        "runs": args.runs,
        "train_2_hosts_s": round(train_s, 3),
        "bare_mpirun_s": round(mpirun_s, 3),
        "script_alone_s": round(script_s, 3),
        "overhead_s": round(overhead, 3),
        "train_vs_bare_mpirun": round(train_s / mpirun_s, 2),
        "goal_overhead_s": GOAL_SECONDS,
        "meets_goal": overhead < GOAL_SECONDS,
    }
    print(json.dumps(report, indent=2))
    return 0 if report["meets_goal"] else 1


if __name__ == "__main__":
    sys.exit(main())
