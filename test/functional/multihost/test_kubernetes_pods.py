"""The rendered Kubernetes Indexed Job, simulated: two namespace hosts named and resolving as its pods
(`<job>-0.<service>`, `<job>-1.<service>`), each given exactly the environment and the config files the
rendered pod spec gives its container, run the real `train` with no resourceconfig.json."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from container_runtime.local.kubernetes import INDEX_ANNOTATION, KubernetesJob, Volume, render_job
from harness.hosts import SSH_PORT, HostCluster, can_run_mpi_across_hosts
from harness.jobs import SCRIPTS, train_command

reason = can_run_mpi_across_hosts()
if reason is not None:
    pytest.skip(reason, allow_module_level=True)
pytest.importorskip("mpi4py")

JOB = "sim"


def rendered(**hyperparameters: Any) -> list[dict[str, Any]]:
    return render_job(KubernetesJob(
        name=JOB, image="container-runtime/chainer:cpu", instance_count=2, entry_point="mpi_hosts.py",
        code=Volume("pvc", "code"), output=Volume("pvc", "results"),
        hyperparameters={"sagemaker_mpi_enabled": True, **hyperparameters}, stop_grace_seconds=20,
    ))


@pytest.fixture
def pods(tmp_path: Path) -> Iterator[HostCluster]:
    """Hosts named as the Indexed Job's pods are through its headless Service."""
    with HostCluster(2, tmp_path, names=[f"{JOB}-0.{JOB}", f"{JOB}-1.{JOB}"], start_sshd=False) as hosts:
        yield hosts


def pod_environment(container: dict[str, Any], index: int) -> dict[str, str]:
    """The container's environment as Kubernetes fills it in for the pod of completion index `index`."""
    env = {}
    for item in container["env"]:
        if "value" in item:
            env[item["name"]] = item["value"]
        else:
            assert item["valueFrom"]["fieldRef"]["fieldPath"] == INDEX_ANNOTATION
            env[item["name"]] = str(index)
    return env


def run_pods(cluster: HostCluster, documents: list[dict[str, Any]], timeout: float = 120) -> dict[str, Any]:
    config_map, _service, indexed_job = documents
    container = indexed_job["spec"]["template"]["spec"]["containers"][0]
    assert container["args"] == ["train"]
    processes = {}
    for index, host in enumerate(cluster.hosts):
        config = host.base / "input" / "config"
        config.mkdir(parents=True)
        for name, text in config_map["data"].items():  # the ConfigMap's volume at /opt/ml/input/config
            (config / name).write_text(text)
        (host.base / "code").mkdir()
        (host.base / "code" / "mpi_hosts.py").write_text((SCRIPTS / "mpi_hosts.py").read_text())
        env = {key: value for key, value in os.environ.items() if not key.startswith(("SM_", "SAGEMAKER_"))}
        env.update(pod_environment(container, index))
        # What the image provides besides the pod spec: /opt/ml, and an sshd config for MPI between pods.
        env.update(SAGEMAKER_BASE_DIR=str(cluster.base_dir), SM_SSHD_CONFIG=str(cluster.sshd_config),
                   SM_SSH_PORT=str(SSH_PORT), OMPI_MCA_plm_rsh_agent=f"ssh -F {cluster.ssh_config}")
        processes[host.name] = cluster.popen(host.name, train_command(), env=env, stdout=subprocess.PIPE,
                                             stderr=subprocess.PIPE, text=True)
    results = {}
    deadline = time.monotonic() + timeout
    for name, process in processes.items():
        stdout, stderr = process.communicate(timeout=max(1.0, deadline - time.monotonic()))
        results[name] = (process.returncode, stdout, stderr)
    return results


def test_a_two_pod_mpi_job_completes_with_the_pods_names_as_its_hosts(pods: HostCluster) -> None:
    results = run_pods(pods, rendered())
    for name, (code, stdout, stderr) in results.items():
        assert code == 0, f"{name}:\n{stdout}\n{stderr}"
    master = results[f"{JOB}-0.{JOB}"][2]
    assert f"hosts from Kubernetes (JOB_COMPLETION_INDEX, SM_HOSTS_PATTERN, SM_HOST_COUNT): {JOB}-0.{JOB}, {JOB}-1.{JOB}" \
        in master
    for index in (0, 1):  # each rank knows its own pod, though mpirun exported the master's variables
        report = json.loads((pods.host(f"{JOB}-{index}.{JOB}").base / "model" / f"rank-{index}.json").read_text())
        assert report["sm_current_host"] == f"{JOB}-{index}.{JOB}"
        assert report["is_master"] is (index == 0)
        assert report["sum_of_ranks"] == 1


def test_a_failing_rank_exits_with_the_code_the_pod_failure_policy_fails_the_job_on(pods: HostCluster) -> None:
    documents = rendered(**{"raise-on": f"{JOB}-1.{JOB}"})
    fail_job = documents[2]["spec"]["podFailurePolicy"]["rules"][0]
    assert fail_job["action"] == "FailJob"
    results = run_pods(pods, documents)
    for name, (code, _, stderr) in results.items():
        assert code in fail_job["onExitCodes"]["values"], f"{name} exited {code}:\n{stderr[-2000:]}"
    assert "failed on purpose" in (pods.host(f"{JOB}-0.{JOB}").base / "output" / "failure").read_text()
