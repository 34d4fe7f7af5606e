"""The `SM_*` variables and the training-environment document a user script reads.

Names and encodings follow the SageMaker training toolkit exactly (contract section 1.5),
so scripts written for SageMaker read the same values. Added on top: shell-safe aliases for
names a shell cannot read, `SM_CHECKPOINT_DIR`, and the variables SageMaker SDK v3's driver
script exports (`v3_variables`), so scripts written for either generation find theirs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from container_runtime.config.executables import find_executable
from container_runtime.config.model import TrainingConfig
from container_runtime.environment.encoding import encode_env_value, is_shell_name, shell_safe_name

#: `SM_MASTER_PORT`: the port SDK v3's drivers give torchrun and friends (its `environment.py`).
V3_MASTER_PORT = 7777


def training_environment(config: TrainingConfig) -> dict[str, Any]:
    """The document exported as `SM_TRAINING_ENV` (keys as in the toolkit's `Environment`)."""
    paths = config.paths
    resource = config.resource
    groups = {group.name: group.as_json() for group in resource.instance_groups}
    return {
        "additional_framework_parameters": dict(config.framework_params),
        "channel_input_dirs": {channel.name: str(channel.path) for channel in config.channels},
        "current_host": resource.current_host,
        "current_instance_group": resource.current_group_name,
        "current_instance_group_hosts": list(resource.current_group_hosts),
        "current_instance_type": resource.current_instance_type,
        "distribution_hosts": list(config.distribution_hosts),
        "distribution_instance_groups": list(config.distribution_instance_groups),
        "framework_module": config.framework_module,
        "hosts": list(resource.hosts),
        "hyperparameters": dict(config.hyperparameters),
        "input_config_dir": str(paths.input_config),
        "input_data_config": dict(config.input_data_config),
        "input_dir": str(paths.input),
        "instance_groups": list(groups),
        "instance_groups_dict": groups,
        "is_hetero": len(resource.instance_groups) > 1,
        "is_master": config.is_master,
        "is_modelparallel_enabled": bool(config.hyperparameters.get("mp_parameters")),
        "is_smddpmprun_installed": find_executable("smddpmprun", config.inherited_environ) is not None,
        "is_smddprun_installed": find_executable("smddprun", config.inherited_environ) is not None,
        "job_name": config.training_job_name,
        "log_level": config.log_level,
        "master_hostname": config.master_hostname,
        "model_dir": str(paths.model),
        "module_dir": config.module_dir,
        "module_name": config.module_name,
        "network_interface_name": resource.network_interface_name,
        "num_cpus": config.num_cpus,
        "num_gpus": config.num_gpus,
        "num_neurons": 0,
        "output_data_dir": str(paths.output_data),
        "output_dir": str(paths.output),
        "output_intermediate_dir": str(paths.output_intermediate),
        "resource_config": dict(resource.raw),
        "topology": list(resource.topology) or None,
        "user_entry_point": config.entry_point,
    }


def sm_variables(config: TrainingConfig, user_args: Sequence[str]) -> dict[str, str]:
    """Every `SM_*` variable for the user process, as strings."""
    document = training_environment(config)
    exported_keys = (
        "hosts",
        "current_host",
        "network_interface_name",
        "resource_config",
        "input_data_config",
        "model_dir",
        "input_dir",
        "input_config_dir",
        "output_dir",
        "output_data_dir",
        "output_intermediate_dir",
        "num_cpus",
        "num_gpus",
        "num_neurons",
        "log_level",
        "current_instance_type",
        "current_instance_group",
        "current_instance_group_hosts",
        "instance_groups",
        "instance_groups_dict",
        "distribution_instance_groups",
        "is_hetero",
        "module_dir",
    )
    values: dict[str, Any] = {key: document[key] for key in exported_keys}
    values.update(
        hps=dict(config.hyperparameters),
        user_args=list(user_args),
        user_entry_point=config.entry_point,
        module_name=config.module_name if config.module_name is not None else "None",
        framework_params=dict(config.framework_params),
        framework_module=config.framework_module,
        channels=[channel.name for channel in config.channels],
        training_env=document,
    )
    if config.resource.topology:
        values["topology"] = list(config.resource.topology)
    variables = {f"SM_{key.upper()}": encode_env_value(value) for key, value in values.items()}
    for name, value in config.hyperparameters.items():
        variables[f"SM_HP_{name.upper()}"] = encode_env_value(value)
    for channel in config.channels:
        variables[f"SM_CHANNEL_{channel.name.upper()}"] = str(channel.path)
    variables["SM_CHECKPOINT_DIR"] = str(config.checkpoint_dir)
    variables.update(v3_variables(config))
    _add_shell_safe_aliases(variables)
    return variables


def v3_variables(config: TrainingConfig) -> dict[str, str]:
    """The variables SageMaker SDK v3's driver exports (its `environment.py`), with its meanings.

    Two deliberate differences: the master is the first host of the distribution (the
    resource config's order, `algo-1` on SageMaker) and the rank is the index in that order,
    where v3 sorts the names as text (`algo-10` before `algo-2`).
    """
    paths = config.paths
    variables = {
        "SM_MASTER_ADDR": config.master_hostname,
        "SM_MASTER_PORT": str(V3_MASTER_PORT),
        "SM_HOST_COUNT": str(len(config.resource.hosts)),
        "SM_CURRENT_HOST_RANK": str(config.current_host_rank),
        "SM_OUTPUT_FAILURE": str(paths.failure_file),
        "SM_INPUT_DATA_DIR": str(paths.input_data),
        "SM_SOURCE_DIR": str(config.code_dir),
    }
    driver = config.driver_source
    if driver is not None and driver.entry_script is not None:
        variables["SM_ENTRY_SCRIPT"] = driver.entry_script
    elif driver is None and config.entry_point is not None:
        variables["SM_ENTRY_SCRIPT"] = config.entry_point
    distributed = distributed_config(config)
    if distributed is not None:
        variables["SM_DISTRIBUTED_CONFIG"] = encode_env_value(distributed)
    if driver is not None and driver.distributed is not None:
        variables["SM_DISTRIBUTED_DRIVER_DIR"] = str(paths.channel("sm_drivers") / "distributed_drivers")
    return variables


def distributed_config(config: TrainingConfig) -> dict[str, Any] | None:
    """`SM_DISTRIBUTED_CONFIG`: v3's `distributed.json` as sent, else the job's distribution in its shape.

    An MPI job gets the fields of v3's `MPI` config (`process_count_per_node`,
    `mpi_additional_options`); every distributed job also gets `kind` and its `hosts`.
    """
    driver = config.driver_source
    if driver is not None and driver.distributed is not None:
        return dict(driver.distributed)
    distribution = config.distribution
    if distribution.kind == "none":
        return None
    document: dict[str, Any] = {"kind": distribution.kind, "hosts": list(distribution.hosts)}
    if distribution.kind == "mpi":
        document["process_count_per_node"] = distribution.processes_per_host
        document["mpi_additional_options"] = list(distribution.custom_mpi_options)
        document["num_processes"] = distribution.num_processes
    return document


def _add_shell_safe_aliases(variables: dict[str, str]) -> None:
    """`SM_HP_LEARNING-RATE` gets a twin `SM_HP_LEARNING_RATE` unless that name is taken."""
    for name in list(variables):
        if is_shell_name(name):
            continue
        alias = shell_safe_name(name)
        variables.setdefault(alias, variables[name])
