"""MPI jobs across namespace hosts through the real `train` on each host: sshd started by the
runtime, workers that wait for the master's verdict, and failures that end the job everywhere."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.cluster_jobs import ClusterJob, HostRun, finish
from harness.hosts import HostCluster, can_run_mpi_across_hosts
from harness.jobs import JobDir

reason = can_run_mpi_across_hosts()
if reason is not None:
    pytest.skip(reason, allow_module_level=True)
pytest.importorskip("mpi4py")

MPI_SCRIPT = {"sagemaker_program": "mpi_hosts.py", "sagemaker_mpi_enabled": True}


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[HostCluster]:
    with HostCluster(2, tmp_path, start_sshd=False) as hosts:
        yield hosts


def mpi_job(cluster: HostCluster, **hyperparameters: Any) -> ClusterJob:
    job = ClusterJob(cluster, {**MPI_SCRIPT, **hyperparameters})
    return job.each(lambda host: host.script("mpi_hosts.py"))


def rank_reports(job: JobDir) -> list[dict[str, Any]]:
    return [json.loads(path.read_text()) for path in sorted(job.model.glob("rank-*.json"))]


def assert_succeeded(runs: dict[str, HostRun]) -> None:
    for run in runs.values():
        assert run.returncode == 0, f"{run.name}:\n{run.stdout}\n{run.stderr}"


@pytest.mark.parametrize("per_host", [1, 2])
def test_ranks_on_two_hosts_allreduce_and_each_sees_its_own_host(cluster: HostCluster, per_host: int) -> None:
    job = mpi_job(cluster, sagemaker_mpi_num_of_processes_per_host=per_host)
    runs = job.run()
    assert_succeeded(runs)
    size = 2 * per_host
    expected_hosts = [[f"algo-{1 + rank // per_host}"] * 2 for rank in range(size)]
    for index, name in enumerate(("algo-1", "algo-2")):
        host_job = job.jobs[name]
        reports = rank_reports(host_job)
        assert [report["rank"] for report in reports] == [index * per_host + slot for slot in range(per_host)]
        for report in reports:
            assert report["size"] == size
            assert report["sum_of_ranks"] == sum(range(size))
            assert report["hosts_seen"] == expected_hosts
            assert report["sm_current_host"] == name
            assert report["sm_current_host_rank"] == str(index)
            assert report["is_master"] == (name == "algo-1")
        assert host_job.succeeded()
        assert (host_job.output / "model.tar.gz").exists()


def test_the_master_logs_the_mpirun_command_once_and_workers_run_no_ranks_themselves(cluster: HostCluster) -> None:
    runs = mpi_job(cluster).run()
    assert_succeeded(runs)
    master_log = runs["algo-1"].stderr + runs["algo-1"].stdout
    assert master_log.count("mpirun --allow-run-as-root") == 1
    assert "--host algo-1:1,algo-2:1" in master_log
    worker_log = runs["algo-2"].stderr + runs["algo-2"].stdout
    assert "mpirun" not in worker_log
    assert "reports that the job succeeded" in worker_log


def test_a_rank_that_raises_on_host_2_fails_the_job_on_both_hosts(cluster: HostCluster) -> None:
    job = mpi_job(cluster, **{"raise-on": "algo-2"})
    runs = job.run()
    assert all(run.returncode == 1 for run in runs.values()), runs
    master_failure = job.jobs["algo-1"].failure() or ""
    assert "rank 1 on algo-2 failed on purpose" in master_failure
    worker_failure = job.jobs["algo-2"].failure() or ""
    assert "the job failed on the master algo-1" in worker_failure
    assert "failed on purpose" in worker_failure
    # The rank raises within a second or two of starting; the job is over on both hosts soon after.
    assert max(run.seconds for run in runs.values()) < 10
    assert abs(runs["algo-1"].seconds - runs["algo-2"].seconds) < 2


def test_a_slow_rank_on_host_2_is_waited_for(cluster: HostCluster) -> None:
    job = mpi_job(cluster, **{"sleep-on": "algo-2", "seconds": 20})
    runs = job.run()
    assert_succeeded(runs)
    assert [report["rank"] for report in rank_reports(job.jobs["algo-2"])] == [1]
    assert runs["algo-1"].seconds >= 20


def start_hanging_job(cluster: HostCluster) -> tuple[ClusterJob, dict[str, Any]]:
    job = mpi_job(cluster, hang=True)
    processes = {name: job.start(name) for name in ("algo-2", "algo-1")}
    deadline = time.monotonic() + 60
    marker = "hangs"
    # Wait until both ranks run: the worker's rank prints through the master's mpirun.
    lines: list[str] = []
    assert processes["algo-1"].stdout is not None
    while time.monotonic() < deadline and sum(marker in line for line in lines) < 2:
        line = processes["algo-1"].stdout.readline()
        if not line:
            break
        lines.append(line)
    assert sum(marker in line for line in lines) == 2, lines
    return job, processes


def test_killing_host_2s_train_fails_the_master_naming_algo_2(cluster: HostCluster) -> None:
    job, processes = start_hanging_job(cluster)
    processes["algo-2"].send_signal(signal.SIGKILL)
    started = time.monotonic()
    master = finish("algo-1", processes["algo-1"], started, 30)
    assert master.returncode == 1, master.stderr
    failure = job.jobs["algo-1"].failure() or ""
    assert "algo-2 left the job" in failure
    assert time.monotonic() - started < 15
    # The killed train's SSH server does not outlive it.
    assert not listening_sshd(cluster.host("algo-2").namespace)


def listening_sshd(namespace: str) -> list[int]:
    listed = subprocess.run(["ip", "netns", "pids", namespace], capture_output=True, text=True, check=False)
    found = []
    for pid in listed.stdout.split():
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if command[:2] and command[0].endswith(b"sshd") and b"-D" in command:
            found.append(int(pid))
    return found


def test_a_worker_whose_master_is_killed_exits_non_zero_within_its_bound(cluster: HostCluster) -> None:
    job, processes = start_hanging_job(cluster)
    processes["algo-1"].send_signal(signal.SIGKILL)
    started = time.monotonic()
    worker = finish("algo-2", processes["algo-2"], started, 30)
    assert worker.returncode == 1, worker.stderr
    assert "lost the master algo-1" in (job.jobs["algo-2"].failure() or "")
    assert time.monotonic() - started < 15


def run_alone(job: ClusterJob, name: str, **env: str) -> HostRun:
    return job.run({"SM_HOST_WAIT_SECONDS": "2", **env}, hosts=[name], timeout=60)


def test_a_master_whose_worker_never_comes_fails_naming_it(cluster: HostCluster) -> None:
    job = mpi_job(cluster)
    run = run_alone(job, "algo-1")["algo-1"]
    assert run.returncode == 1
    failure = job.jobs["algo-1"].failure() or ""
    assert "algo-2 never connected to the master" in failure
    assert "SM_HOST_WAIT_SECONDS" in failure
    assert run.seconds < 15


def test_a_worker_whose_master_never_comes_fails_naming_it(cluster: HostCluster) -> None:
    job = mpi_job(cluster)
    run = run_alone(job, "algo-2")["algo-2"]
    assert run.returncode == 1
    assert "the master algo-1 never accepted a connection" in (job.jobs["algo-2"].failure() or "")
    assert run.seconds < 15


def test_a_host_whose_name_never_resolves_is_named(cluster: HostCluster) -> None:
    job = mpi_job(cluster)
    names = ["algo-1", "algo-2", "algo-3"]
    job.jobs["algo-1"].config_file("resourceconfig.json", {"current_host": "algo-1", "hosts": names})
    run = run_alone(job, "algo-1")["algo-1"]
    assert run.returncode == 1
    assert "algo-3 never resolved" in (job.jobs["algo-1"].failure() or "")


def test_a_missing_sshd_is_a_clear_error(cluster: HostCluster) -> None:
    job = mpi_job(cluster)
    run = run_alone(job, "algo-1", SM_SSHD_PATH="/nonexistent/sshd")["algo-1"]
    assert run.returncode == 1
    assert "SM_SSHD_PATH: '/nonexistent/sshd' is not an executable file" in (job.jobs["algo-1"].failure() or "")


def test_a_worker_that_cannot_prepare_its_code_fails_the_job_on_both_hosts(cluster: HostCluster) -> None:
    job = mpi_job(cluster)
    (job.jobs["algo-2"].code / "mpi_hosts.py").unlink()
    runs = job.run({"SM_HOST_WAIT_SECONDS": "30"}, timeout=60)
    assert all(run.returncode == 1 for run in runs.values()), runs
    assert "mpi_hosts.py" in (job.jobs["algo-2"].failure() or "")
    assert "host algo-2 could not prepare the job" in (job.jobs["algo-1"].failure() or "")


def test_stopping_the_master_stops_the_job_everywhere(cluster: HostCluster) -> None:
    job, processes = start_hanging_job(cluster)
    processes["algo-1"].send_signal(signal.SIGTERM)
    started = time.monotonic()
    master = finish("algo-1", processes["algo-1"], started, 30)
    worker = finish("algo-2", processes["algo-2"], started, 30)
    assert master.returncode == 128 + signal.SIGTERM, master.stderr
    assert worker.returncode != 0
    assert "stopped by SIGTERM" in (job.jobs["algo-2"].failure() or "")
    assert time.monotonic() - started < 15


def test_an_interface_name_missing_on_the_hosts_falls_back_to_their_subnet(cluster: HostCluster) -> None:
    job = mpi_job(cluster)
    names = ["algo-1", "algo-2"]
    for name in names:
        resource = {"current_host": name, "hosts": names, "network_interface_name": "ethwe"}
        job.jobs[name].config_file("resourceconfig.json", resource)
    runs = job.run()
    assert_succeeded(runs)
    master_log = runs["algo-1"].stderr
    assert "MPI traffic uses subnet 10.77.0.0/24" in master_log
    assert "btl_tcp_if_include 10.77.0.0/24" in master_log
    assert [report["rank"] for report in rank_reports(job.jobs["algo-2"])] == [1]
