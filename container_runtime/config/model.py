"""The frozen configuration of one training run, built once in `main()` and passed down."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, NamedTuple

from container_runtime.config.cluster import ClusterSettings
from container_runtime.config.paths import JobPaths
from container_runtime.config.resources import ResourceConfig

CliStyle = Literal["contract", "json"]

#: Framework parameters that turn a host's instance group into a distribution group.
DISTRIBUTION_FLAGS = (
    "sagemaker_mpi_enabled",
    "sagemaker_parameter_server_enabled",
    "sagemaker_multi_worker_mirrored_strategy_enabled",
    "sagemaker_distributed_dataparallel_enabled",
    "sagemaker_torch_distributed_enabled",
    "sagemaker_pytorch_ddp_enabled",
    "sagemaker_pytorch_xla_multi_worker_enabled",
)


class Channel(NamedTuple):
    name: str
    path: Path
    config: Mapping[str, Any]


class TrainingConfig(NamedTuple):
    """Everything `train` needs, validated. Nothing below `main()` reads env or config files."""

    paths: JobPaths
    resource: ResourceConfig
    input_data_config: Mapping[str, Any]
    channels: tuple[Channel, ...]
    #: User hyperparameters, decoded, in the order of `hyperparameters.json`.
    hyperparameters: Mapping[str, Any]
    #: `sagemaker_*` parameters outside the reserved set (`SM_FRAMEWORK_PARAMS`).
    framework_params: Mapping[str, Any]
    reserved_params: Mapping[str, Any]
    entry_point: str | None
    submit_directory: str | None
    framework_module: str | None
    job_name: str
    training_job_name: str | None
    region: str
    log_level: int
    cli_style: CliStyle
    checkpoint_dir: Path
    num_cpus: int
    num_gpus: int
    stop_grace_seconds: float
    #: Bound on every wait for another host (SSH, DNS, a master's port).
    host_wait_seconds: float
    package_artifacts: bool
    force_code_extract: bool
    s3_endpoint_url: str | None
    #: The environment `train` was started with; the child's is built from it.
    inherited_environ: Mapping[str, str]
    #: Defaults applied while loading, logged once by the CLI.
    notices: tuple[str, ...] = ()
    #: SSH and coordination settings, used by jobs across several hosts.
    cluster: ClusterSettings = ClusterSettings()

    @property
    def current_host(self) -> str:
        return self.resource.current_host

    @property
    def module_dir(self) -> str:
        return self.submit_directory or str(self.paths.code)

    @property
    def module_name(self) -> str | None:
        if self.entry_point is None:
            return None
        return self.entry_point[:-3] if self.entry_point.endswith(".py") else self.entry_point

    @property
    def distribution_instance_groups(self) -> tuple[str, ...]:
        explicit = self.framework_params.get("sagemaker_distribution_instance_groups")
        if isinstance(explicit, list):
            return tuple(str(name) for name in explicit)
        if any(self.framework_params.get(flag) for flag in DISTRIBUTION_FLAGS):
            return (self.resource.current_group_name,)
        return ()

    @property
    def distribution_hosts(self) -> tuple[str, ...]:
        if not self.resource.instance_groups:
            return self.resource.hosts
        wanted = self.distribution_instance_groups
        return tuple(host for group in self.resource.instance_groups if group.name in wanted for host in group.hosts)

    @property
    def master_hostname(self) -> str:
        return (self.distribution_hosts or self.resource.hosts)[0]

    @property
    def is_master(self) -> bool:
        return self.current_host == self.master_hostname
