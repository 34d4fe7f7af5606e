"""The frozen configuration of one training run, built once in `main()` and passed down."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from container_runtime.config.cli_args import CliStyle
from container_runtime.config.cluster import ClusterSettings
from container_runtime.config.distribution import Distribution, distribution_hosts, distribution_instance_groups
from container_runtime.config.paths import JobPaths
from container_runtime.config.resources import ResourceConfig
from container_runtime.config.sdk_drivers import DriverSource

__all__ = ["Channel", "CliStyle", "Distribution", "TrainingConfig"]


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
    #: `sagemaker_*` parameters outside the reserved set, for `SM_FRAMEWORK_PARAMS` and the other `SM_*`
    #: variables only: launchers and adapters read the distribution from `distribution`.
    framework_params: Mapping[str, Any]
    reserved_params: Mapping[str, Any]
    entry_point: str | None
    submit_directory: str | None
    framework_module: str | None
    #: MPI, parameter servers, ...: resolved from the framework's key table (`config.distribution`).
    distribution: Distribution
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
    #: The cluster engine the hosts came from ("slurm", "kubernetes", ...), None for resourceconfig.json.
    cluster_engine: str | None = None
    #: The job's code came the SDK v3 way (`sm_drivers/sourcecode.json`, code in `input/data/code`).
    driver_source: DriverSource | None = None

    @property
    def current_host(self) -> str:
        return self.resource.current_host

    @property
    def code_dir(self) -> Path:
        """Where the code runs from: `<base>/code`, or the `code` channel for an SDK v3 job."""
        return self.driver_source.code_dir if self.driver_source is not None else self.paths.code

    @property
    def module_dir(self) -> str:
        return self.submit_directory or str(self.code_dir)

    @property
    def current_host_rank(self) -> int:
        """The host's index in the resource config's order (never a sorted order: `algo-10` comes after `algo-9`)."""
        return self.resource.hosts.index(self.current_host)

    @property
    def module_name(self) -> str | None:
        if self.entry_point is None:
            return None
        return self.entry_point[:-3] if self.entry_point.endswith(".py") else self.entry_point

    @property
    def distribution_instance_groups(self) -> tuple[str, ...]:
        """`SM_DISTRIBUTION_INSTANCE_GROUPS`."""
        return distribution_instance_groups(self.framework_params, self.resource)

    @property
    def distribution_hosts(self) -> tuple[str, ...]:
        """`distribution_hosts` of `SM_TRAINING_ENV` (may be empty; `distribution.hosts` never is)."""
        return distribution_hosts(self.framework_params, self.resource)

    @property
    def master_hostname(self) -> str:
        return self.distribution.hosts[0]

    @property
    def is_master(self) -> bool:
        return self.current_host == self.master_hostname
