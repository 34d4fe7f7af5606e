"""Hosts from a cluster engine's environment when there is no resourceconfig.json: Slurm, Kubernetes
Indexed Jobs and JobSets, Kubeflow's variables and the MPI Operator's hostfile."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from container_runtime.config import load_config
from container_runtime.config.engines import (
    expand_nodelist,
    identity_from_engine,
    kubeflow_identity,
    kubernetes_identity,
    mpi_operator_identity,
    slurm_identity,
)
from container_runtime.environment import sm_variables
from container_runtime.errors import ConfigError


@pytest.mark.parametrize(
    ("nodelist", "hosts"),
    [
        ("gpu[01-04,07],login2", ["gpu01", "gpu02", "gpu03", "gpu04", "gpu07", "login2"]),
        ("node[9-11]", ["node9", "node10", "node11"]),  # index order, never a lexicographic sort
        ("rack[1-2]-n[1-2]", ["rack1-n1", "rack1-n2", "rack2-n1", "rack2-n2"]),
        ("a.cluster,b.cluster", ["a.cluster", "b.cluster"]),
        ("n[008-010]", ["n008", "n009", "n010"]),
        ("single", ["single"]),
    ],
)
def test_slurm_node_lists_expand_in_slurm_order(nodelist: str, hosts: list[str]) -> None:
    assert expand_nodelist(nodelist) == hosts


@pytest.mark.parametrize(
    ("nodelist", "message"),
    [
        ("gpu[01-", "unbalanced '['"),
        ("gpu]01", "unbalanced ']'"),
        ("gpu[4-2]", "runs backwards"),
        ("gpu[a-b]", "cannot read the range"),
        ("a,,b", "an empty host name"),
        ("n[1-2],n1", "host names repeat"),
    ],
)
def test_a_node_list_that_cannot_be_read_is_named(nodelist: str, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)) as raised:
        expand_nodelist(nodelist, source="environment variable SLURM_JOB_NODELIST")
    assert raised.value.source == "environment variable SLURM_JOB_NODELIST"


def test_slurm_by_node_name_and_by_node_index() -> None:
    by_name = slurm_identity({"SLURM_JOB_NODELIST": "n[1-12]", "SLURMD_NODENAME": "n10"})
    assert by_name is not None
    assert by_name.resource_config == {"current_host": "n10", "hosts": [f"n{i}" for i in range(1, 13)]}
    assert by_name.source == "Slurm (SLURM_JOB_NODELIST and SLURMD_NODENAME)"
    by_index = slurm_identity({"SLURM_NODELIST": "n[1-3]", "SLURM_NODEID": "2", "SLURM_NTASKS": "3"})
    assert by_index is not None and by_index.resource_config["current_host"] == "n3"
    assert slurm_identity({}) is None


@pytest.mark.parametrize(
    ("environ", "variable", "message"),
    [
        ({"SLURM_JOB_NODELIST": "n[1-2]"}, "SLURM_NODEID", "neither SLURMD_NODENAME nor SLURM_NODEID"),
        ({"SLURM_JOB_NODELIST": "n[1-2]", "SLURMD_NODENAME": "m1"}, "SLURMD_NODENAME", "'m1' is not in"),
        ({"SLURM_JOB_NODELIST": "n[1-2]", "SLURM_NODEID": "2"}, "SLURM_NODEID", "from 0 to 1"),
        ({"SLURM_JOB_NODELIST": "n[1-2]", "SLURMD_NODENAME": "n1", "SLURM_NTASKS": "4"}, "SLURM_NTASKS",
         "4 tasks on 2 node"),
        ({"SLURM_JOB_NODELIST": "n[1-2]", "SLURMD_NODENAME": "n1", "SLURM_LOCALID": "1"}, "SLURM_NTASKS",
         "--ntasks-per-node=1"),
    ],
)
def test_a_partial_or_contradictory_slurm_environment_names_the_variable(
    environ: dict[str, str], variable: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)) as raised:
        slurm_identity(environ)
    assert raised.value.source == f"environment variable {variable}"


def test_a_kubernetes_indexed_job_pod() -> None:
    found = kubernetes_identity(
        {"JOB_COMPLETION_INDEX": "11", "SM_HOSTS_PATTERN": "train-{index}.train-svc", "SM_HOST_COUNT": "12"}
    )
    assert found is not None
    assert found.resource_config["hosts"][10:] == ["train-10.train-svc", "train-11.train-svc"]
    assert found.resource_config["current_host"] == "train-11.train-svc"
    assert kubernetes_identity({"SM_HOSTS_PATTERN": "x-{index}", "SM_HOST_COUNT": "2"}) is None


@pytest.mark.parametrize(
    ("environ", "variable", "message"),
    [
        ({"JOB_COMPLETION_INDEX": "0"}, "SM_HOSTS_PATTERN", "SM_HOSTS_PATTERN and SM_HOST_COUNT not set"),
        ({"JOB_COMPLETION_INDEX": "0", "SM_HOSTS_PATTERN": "t-{index}"}, "SM_HOSTS_PATTERN", "SM_HOST_COUNT not set"),
        ({"JOB_COMPLETION_INDEX": "0", "SM_HOSTS_PATTERN": "t", "SM_HOST_COUNT": "2"}, "SM_HOSTS_PATTERN",
         "must contain {index}"),
        ({"JOB_COMPLETION_INDEX": "0", "SM_HOSTS_PATTERN": "t-{index}-{rank}", "SM_HOST_COUNT": "2"},
         "SM_HOSTS_PATTERN", "no other placeholder"),
        ({"JOB_COMPLETION_INDEX": "0", "SM_HOSTS_PATTERN": "t-{index}", "SM_HOST_COUNT": "two"}, "SM_HOST_COUNT",
         "whole number"),
        ({"JOB_COMPLETION_INDEX": "2", "SM_HOSTS_PATTERN": "t-{index}", "SM_HOST_COUNT": "2"}, "JOB_COMPLETION_INDEX",
         "from 0 to 1"),
    ],
)
def test_a_partial_kubernetes_environment_names_the_variable(
    environ: dict[str, str], variable: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)) as raised:
        kubernetes_identity(environ)
    assert raised.value.source == f"environment variable {variable}"


def test_kubeflow_variables_with_the_host_pattern() -> None:
    environ = {"PET_NNODES": "2", "PET_NODE_RANK": "1", "PET_MASTER_ADDR": "job-worker-0",
               "SM_HOSTS_PATTERN": "job-worker-{index}", "SM_HOST_COUNT": "2"}
    found = kubeflow_identity(environ)
    assert found is not None and found.resource_config == {"current_host": "job-worker-1",
                                                           "hosts": ["job-worker-0", "job-worker-1"]}
    with pytest.raises(ConfigError, match="PET_NODE_RANK, PET_MASTER_ADDR not set"):
        kubeflow_identity({"PET_NNODES": "2"})
    with pytest.raises(ConfigError, match="but PET_MASTER_ADDR is 'elsewhere'"):
        kubeflow_identity({**environ, "PET_MASTER_ADDR": "elsewhere"})
    with pytest.raises(ConfigError, match="PET_NNODES says 3"):
        kubeflow_identity({**environ, "PET_NNODES": "3"})


def test_the_mpi_operators_hostfile(tmp_path: Path) -> None:
    hostfile = tmp_path / "hostfile"
    hostfile.write_text("job-worker-0.job slots=2\njob-worker-1.job slots=2\n")
    environ = {"OMPI_MCA_orte_default_hostfile": str(hostfile), "HOSTNAME": "job-worker-1"}
    found = mpi_operator_identity(environ)
    assert found is not None and found.resource_config == {"current_host": "job-worker-1.job",
                                                           "hosts": ["job-worker-0.job", "job-worker-1.job"]}
    with pytest.raises(ConfigError, match="is not among the hostfile's hosts"):
        mpi_operator_identity({**environ, "HOSTNAME": "launcher"})
    with pytest.raises(ConfigError, match="cannot read the MPI hostfile"):
        mpi_operator_identity({**environ, "OMPI_MCA_orte_default_hostfile": str(tmp_path / "missing")})


def test_slurm_is_asked_first_and_nothing_set_means_a_single_host() -> None:
    both = {"SLURM_JOB_NODELIST": "n[1-2]", "SLURMD_NODENAME": "n2", "JOB_COMPLETION_INDEX": "0"}
    found = identity_from_engine(both)
    assert found is not None and found.source.startswith("Slurm")
    assert identity_from_engine({"PATH": "/usr/bin"}) is None


def _environ(tmp_path: Path, **extra: str) -> dict[str, str]:
    base = tmp_path / "ml"
    (base / "input" / "config").mkdir(parents=True, exist_ok=True)
    (tmp_path / "home").mkdir(exist_ok=True)
    return {"SAGEMAKER_BASE_DIR": str(base), "HOME": str(tmp_path / "home"), "CUDA_VISIBLE_DEVICES": "", **extra}


def test_load_config_exports_the_engines_hosts_as_if_the_file_had_existed(tmp_path: Path) -> None:
    config = load_config(_environ(tmp_path, SLURM_JOB_NODELIST="gpu[08-11]", SLURMD_NODENAME="gpu10"))
    assert config.resource.hosts == ("gpu08", "gpu09", "gpu10", "gpu11")
    assert config.current_host == "gpu10"
    assert any("hosts from Slurm (SLURM_JOB_NODELIST and SLURMD_NODENAME): gpu08, gpu09, gpu10, gpu11" in notice
               for notice in config.notices)
    variables = sm_variables(config, [])
    assert json.loads(variables["SM_HOSTS"]) == ["gpu08", "gpu09", "gpu10", "gpu11"]
    assert variables["SM_CURRENT_HOST"] == "gpu10"
    assert json.loads(variables["SM_RESOURCE_CONFIG"]) == {"current_host": "gpu10",
                                                           "hosts": ["gpu08", "gpu09", "gpu10", "gpu11"]}


def test_an_explicit_resourceconfig_always_wins(tmp_path: Path) -> None:
    environ = _environ(tmp_path, SLURM_JOB_NODELIST="n[1-2]", SLURMD_NODENAME="n1")
    config_file = Path(environ["SAGEMAKER_BASE_DIR"]) / "input" / "config" / "resourceconfig.json"
    config_file.write_text(json.dumps({"current_host": "algo-1", "hosts": ["algo-1"]}))
    assert load_config(environ).resource.hosts == ("algo-1",)
