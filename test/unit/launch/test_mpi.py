"""MPI planning and the mpirun command line, as pure functions."""

from __future__ import annotations

from typing import Any

import pytest

from container_runtime.config.distribution import GENERIC_KEYS, KEY_TABLES, DistributionKeys, resolve_distribution
from container_runtime.config.resources import ResourceConfig, parse_resource_config
from container_runtime.errors import ConfigError
from container_runtime.launch.mpi_command import MpiPlan, mpirun_command, plan_mpi

ONE_HOST = ("algo-1",)
TWO_HOSTS = ("algo-1", "algo-2")
CHAINER_KEYS = KEY_TABLES["chainer"]


def resource(hosts: tuple[str, ...]) -> ResourceConfig:
    return parse_resource_config({"current_host": hosts[0], "hosts": list(hosts)}, source="resourceconfig.json")


def plan_mpi_from(
    params: dict[str, Any], hosts: tuple[str, ...], gpus: int, interface: str, keys: DistributionKeys
) -> MpiPlan:
    """The plan of an MPI job with these framework parameters, resolved as `load_config` does."""
    mpi_flag = keys.flags[0].key
    distribution = resolve_distribution({mpi_flag: True, **params}, keys, resource(hosts), gpus)
    assert distribution.kind == "mpi"
    return plan_mpi(distribution, interface)


def uses_mpi(params: dict[str, Any], hosts: int) -> bool:
    names = tuple(f"algo-{index}" for index in range(1, hosts + 1))
    return resolve_distribution(params, CHAINER_KEYS, resource(names), 0).kind == "mpi"


@pytest.mark.parametrize(
    ("params", "hosts", "gpus", "expected"),
    [
        ({}, ONE_HOST, 0, (1, 1)),
        ({}, ONE_HOST, 4, (4, 4)),
        ({}, TWO_HOSTS, 0, (1, 2)),
        ({}, TWO_HOSTS, 8, (8, 16)),
        ({"sagemaker_process_slots_per_host": 3}, TWO_HOSTS, 0, (3, 6)),
        ({"sagemaker_process_slots_per_host": "2"}, ONE_HOST, 0, (2, 2)),
        ({"sagemaker_num_processes": 5, "sagemaker_process_slots_per_host": 3}, TWO_HOSTS, 0, (3, 5)),
        ({"sagemaker_mpi_num_of_processes_per_host": 2}, ONE_HOST, 0, (2, 2)),
        ({"sagemaker_process_slots_per_host": 3, "sagemaker_mpi_num_of_processes_per_host": 2}, ONE_HOST, 0, (3, 3)),
        ({"sagemaker_mpi_num_processes": 7}, ONE_HOST, 0, (1, 7)),
    ],
)
def test_process_counts(params: dict[str, Any], hosts: tuple[str, ...], gpus: int, expected: tuple[int, int]) -> None:
    plan = plan_mpi_from(params, hosts, gpus, "eth0", CHAINER_KEYS)
    assert (plan.processes_per_host, plan.num_processes) == expected


def test_both_option_keys_are_appended_in_order() -> None:
    params = {
        "sagemaker_additional_mpi_options": "-x FOO=1 --mca btl_tcp_if_include lo",
        "sagemaker_mpi_custom_mpi_options": "-x 'BAR=two words'",
    }
    plan = plan_mpi_from(params, ONE_HOST, 0, "eth0", CHAINER_KEYS)
    assert plan.custom_options == ("-x", "FOO=1", "--mca", "btl_tcp_if_include", "lo", "-x", "BAR=two words")


@pytest.mark.parametrize(
    ("params", "key"),
    [
        ({"sagemaker_process_slots_per_host": 0}, "sagemaker_process_slots_per_host"),
        ({"sagemaker_process_slots_per_host": "two"}, "sagemaker_process_slots_per_host"),
        ({"sagemaker_num_processes": True}, "sagemaker_num_processes"),
        ({"sagemaker_num_processes": 1.5}, "sagemaker_num_processes"),
        ({"sagemaker_additional_mpi_options": ["-x"]}, "sagemaker_additional_mpi_options"),
        ({"sagemaker_mpi_custom_mpi_options": "-x 'unclosed"}, "sagemaker_mpi_custom_mpi_options"),
    ],
)
def test_bad_values_name_the_key(params: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError, match=key):
        plan_mpi_from(params, ONE_HOST, 0, "eth0", CHAINER_KEYS)


def test_generic_keys_default() -> None:
    plan = plan_mpi_from({"sagemaker_mpi_custom_mpi_options": "-v"}, ONE_HOST, 0, "eth0", GENERIC_KEYS)
    assert plan.custom_options == ("-v",)


def test_single_host_command_needs_no_ssh() -> None:
    plan = MpiPlan(ONE_HOST, 2, 2, "eth0", ("--verbose",))
    command = mpirun_command(plan, ["python", "-m", "mpi4py", "train.py"], ["SM_HOSTS"], mpirun="/usr/bin/mpirun")
    assert command[:5] == ["/usr/bin/mpirun", "--allow-run-as-root", "--tag-output", "-np", "2"]
    assert command[command.index("--host") + 1] == "localhost:2"
    assert "btl_tcp_if_include" not in command
    assert command[command.index("orte_abort_on_non_zero_status") + 1] == "1"
    # user options come after every default, just before the program
    assert command[-5:] == ["--verbose", "python", "-m", "mpi4py", "train.py"]
    assert command[command.index("SM_HOSTS") - 1] == "-x"


def test_multi_host_command_names_hosts_slots_and_interface() -> None:
    plan = MpiPlan(TWO_HOSTS, 4, 8, "ethwe", ())
    command = mpirun_command(plan, ["prog"], [])
    assert command[command.index("--host") + 1] == "algo-1:4,algo-2:4"
    assert command[command.index("btl_tcp_if_include") + 1] == "ethwe"
    assert command[command.index("oob_tcp_if_include") + 1] == "ethwe"
    assert "NCCL_SOCKET_IFNAME=ethwe" in command


@pytest.mark.parametrize(
    ("params", "hosts", "expected"),
    [({}, 1, False), ({}, 2, True), ({"sagemaker_use_mpi": True}, 1, True), ({"sagemaker_use_mpi": "false"}, 2, False),
     ({"sagemaker_use_mpi": False}, 3, False)],
)
def test_uses_mpi(params: dict[str, Any], hosts: int, expected: bool) -> None:
    assert uses_mpi(params, hosts) is expected


def test_uses_mpi_rejects_garbage() -> None:
    with pytest.raises(ConfigError, match="sagemaker_use_mpi"):
        uses_mpi({"sagemaker_use_mpi": "sometimes"}, 1)


def test_user_options_replace_the_defaults_they_repeat() -> None:
    options = ("-mca", "orte_abort_on_non_zero_status", "0", "--bind-to", "core", "-x", "PATH=/opt/bin", "-np", "3")
    plan = MpiPlan(ONE_HOST, 2, 2, "eth0", options)
    command = mpirun_command(plan, ["prog"], ["PATH", "SM_HOSTS"])
    assert command.count("orte_abort_on_non_zero_status") == 1
    assert "-bind-to" not in command and command.count("--bind-to") == 1
    assert "-np" in command and command[command.index("-np") + 1] == "3"
    assert command.count("-np") == 1
    assert command[command.index("-x") : command.index("-x") + 2] != ["-x", "PATH"]
    assert command[-len(options) - 1 : -1] == list(options)
    assert "SM_HOSTS" in command


def test_a_subnet_selects_the_network_and_leaves_nccl_alone() -> None:
    plan = MpiPlan(TWO_HOSTS, 1, 2, "10.0.0.0/24", ())
    command = mpirun_command(plan, ["prog"], [])
    assert command[command.index("btl_tcp_if_include") + 1] == "10.0.0.0/24"
    assert not [part for part in command if part.startswith("NCCL_SOCKET_IFNAME")]


def test_a_non_default_ssh_port_reaches_mpiruns_ssh() -> None:
    plan = MpiPlan(TWO_HOSTS, 1, 2, "eth0", ())
    assert "plm_rsh_args" not in mpirun_command(plan, ["prog"], [])
    command = mpirun_command(plan, ["prog"], [], ssh_port=2022)
    assert command[command.index("plm_rsh_args") + 1] == "-p 2022"
    overridden = mpirun_command(plan._replace(custom_options=("-mca", "plm_rsh_args", "-p 23")), ["prog"], [],
                                ssh_port=2022)
    assert overridden.count("plm_rsh_args") == 1
    assert overridden[overridden.index("plm_rsh_args") + 1] == "-p 23"


def test_under_slurm_mpirun_starts_its_daemons_through_slurm_not_ssh() -> None:
    plan = MpiPlan(("n1", "n2"), 1, 2, "eth0", ())
    command = mpirun_command(plan, ["python", "train.py"], [], ssh_port=2022, launcher="slurm")
    assert command[command.index("plm") - 1:command.index("plm") + 2] == ["-mca", "plm", "slurm"]
    assert "plm_rsh_no_tree_spawn" not in command and "plm_rsh_args" not in command
    assert "--host" in command and command[command.index("--host") + 1] == "n1:1,n2:1"
