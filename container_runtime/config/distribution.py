"""How a job is spread over processes and hosts, resolved once from its hyperparameters.

Each framework reads its distribution from `sagemaker_*` hyperparameters under names of its
own. `KEY_TABLES` holds those names by the name the framework registered its training adapter
under (`container_runtime.plugins`); they are SageMaker contract keys, not modules. Without
`SAGEMAKER_TRAINING_MODULE`, `train` reads `GENERIC_KEYS`; an adapter that is not registered,
or whose framework has no table, gets no distribution. `load_config` resolves the table into a
`Distribution`, so every error in these keys is a `ConfigError` before any download, pip run
or wait for another host. Launchers and adapters read only the `Distribution`;
`framework_params` stays on the config for the `SM_*` variables.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any, Literal, NamedTuple

from container_runtime.config.exec_strings import check_exec_string
from container_runtime.config.hyperparameters import boolean_parameter
from container_runtime.config.resources import ResourceConfig
from container_runtime.errors import ConfigError
from container_runtime.plugins import TRAINING_ADAPTERS, registered

DistributionKind = Literal["none", "mpi", "parameter_server", "multi_worker_mirrored"]

#: Framework parameters that, when truthy, make the current instance group a distribution group
#: (`SM_DISTRIBUTION_INSTANCE_GROUPS`, the toolkit's rule, whatever the framework).
DISTRIBUTION_FLAGS = (
    "sagemaker_mpi_enabled",
    "sagemaker_parameter_server_enabled",
    "sagemaker_multi_worker_mirrored_strategy_enabled",
    "sagemaker_distributed_dataparallel_enabled",
    "sagemaker_torch_distributed_enabled",
    "sagemaker_pytorch_ddp_enabled",
    "sagemaker_pytorch_xla_multi_worker_enabled",
)


class KindFlag(NamedTuple):
    """A true/false hyperparameter that selects one kind of distribution."""

    key: str
    kind: DistributionKind
    #: When absent, the flag is true if the job has more than one host (Chainer's `sagemaker_use_mpi`).
    default_on_several_hosts: bool = False


class DistributionKeys(NamedTuple):
    """The hyperparameters one framework reads its distribution from. In each tuple the first key set wins."""

    #: At most one of them may be true.
    flags: tuple[KindFlag, ...]
    processes_per_host: tuple[str, ...] = ("sagemaker_mpi_num_of_processes_per_host",)
    num_processes: tuple[str, ...] = ("sagemaker_mpi_num_processes",)
    #: Every one of these that is set is appended, in this order.
    custom_mpi_options: tuple[str, ...] = ("sagemaker_mpi_custom_mpi_options",)


#: `train` without an adapter: SageMaker's generic MPI keys.
GENERIC_KEYS = DistributionKeys(flags=(KindFlag("sagemaker_mpi_enabled", "mpi"),))

#: By the name a framework registered its training adapter under.
KEY_TABLES: Mapping[str, DistributionKeys] = MappingProxyType(
    {
        "chainer": DistributionKeys(
            flags=(KindFlag("sagemaker_use_mpi", "mpi", default_on_several_hosts=True),),
            processes_per_host=("sagemaker_process_slots_per_host", "sagemaker_mpi_num_of_processes_per_host"),
            num_processes=("sagemaker_num_processes", "sagemaker_mpi_num_processes"),
            custom_mpi_options=("sagemaker_additional_mpi_options", "sagemaker_mpi_custom_mpi_options"),
        ),
        "tensorflow": DistributionKeys(
            flags=(
                KindFlag("sagemaker_mpi_enabled", "mpi"),
                KindFlag("sagemaker_parameter_server_enabled", "parameter_server"),
                KindFlag("sagemaker_multi_worker_mirrored_strategy_enabled", "multi_worker_mirrored"),
            ),
        ),
    }
)


class Distribution(NamedTuple):
    """How this job runs across processes and hosts, validated."""

    kind: DistributionKind
    #: The hosts that take part: those of the distribution instance groups, else every host. The
    #: first is the master.
    hosts: tuple[str, ...]
    #: MPI ranks per host and in all (`-np`); for the other kinds 1 and one per host.
    processes_per_host: int
    num_processes: int
    #: The user's mpirun options, split into tokens, appended after the defaults.
    custom_mpi_options: tuple[str, ...] = ()
    #: The name of the registered framework whose adapter `SAGEMAKER_TRAINING_MODULE` names; None
    #: without one, or when the adapter named is not registered.
    framework: str | None = None


def key_table(framework_module: str | None) -> tuple[str | None, DistributionKeys | None]:
    """The registered framework `framework_module` is the adapter of, and the keys its distribution is read
    from (None when nothing reads them)."""
    if framework_module is None:
        return None, GENERIC_KEYS
    name = registered_framework(framework_module)
    return name, KEY_TABLES.get(name) if name is not None else None


def registered_framework(spec: str) -> str | None:
    """The name a framework registered `spec` (`pkg.module:function`) under as its training adapter."""
    # Only jobs with an adapter pay for reading the installed entry points.
    module, _, function = spec.partition(":")
    wanted = (module, function or "main")
    return next((name for name, entry in registered(TRAINING_ADAPTERS).items()
                 if (entry.module, entry.attr or "main") == wanted), None)


def resolve_distribution(
    params: Mapping[str, Any],
    keys: DistributionKeys | None,
    resource: ResourceConfig,
    num_gpus: int,
    *,
    framework: str | None = None,
    source: str = "hyperparameters.json",
) -> Distribution:
    """Read `keys` from the framework parameters; every bad value is a ConfigError naming `source` and the key.

    MPI ranks per host default to the GPU count, else 1; `-np` to that times the hosts. A
    parameter server needs more than one host: with one, the job is not distributed.
    """
    hosts = distribution_hosts(params, resource) or resource.hosts
    kind = _kind(params, keys, len(resource.hosts), source) if keys is not None else "none"
    if kind == "parameter_server" and len(hosts) < 2:
        kind = "none"
    if kind != "mpi" or keys is None:
        return Distribution(kind, hosts, 1, len(hosts), framework=framework)
    per_host = _positive_int(params, keys.processes_per_host, default=num_gpus or 1, source=source)
    total = _positive_int(params, keys.num_processes, default=per_host * len(hosts), source=source)
    options = _mpi_options(params, keys.custom_mpi_options, source)
    return Distribution("mpi", hosts, per_host, total, options, framework)


def require_framework(distribution: Distribution, framework: str, framework_module: str | None) -> None:
    """An adapter's guard: the job was loaded with `framework`'s key table, so its distribution was read.

    Without it, an adapter reached through a name that is not the registered one (or with the
    package's metadata missing) would silently run a distributed job as one process.
    """
    if distribution.framework != framework:
        raise ConfigError(
            "environment variable SAGEMAKER_TRAINING_MODULE",
            f"{framework_module!r} is not the training adapter registered for {framework!r} (entry points "
            f"{TRAINING_ADAPTERS}), so the {framework} distribution keys were not read: install the package "
            "(its entry points), or set the registered adapter",
        )


def distribution_instance_groups(params: Mapping[str, Any], resource: ResourceConfig) -> tuple[str, ...]:
    """`sagemaker_distribution_instance_groups`, else the current group when a distribution flag is set."""
    explicit = params.get("sagemaker_distribution_instance_groups")
    if isinstance(explicit, list):
        return tuple(str(name) for name in explicit)
    if any(params.get(flag) for flag in DISTRIBUTION_FLAGS):
        return (resource.current_group_name,)
    return ()


def distribution_hosts(params: Mapping[str, Any], resource: ResourceConfig) -> tuple[str, ...]:
    """The hosts of the distribution instance groups; every host when the job has no instance groups."""
    if not resource.instance_groups:
        return resource.hosts
    wanted = distribution_instance_groups(params, resource)
    return tuple(host for group in resource.instance_groups if group.name in wanted for host in group.hosts)


def _kind(params: Mapping[str, Any], keys: DistributionKeys, host_count: int, source: str) -> DistributionKind:
    enabled = [
        flag
        for flag in keys.flags
        if boolean_parameter(params, flag.key, flag.default_on_several_hosts and host_count > 1, source=source)
    ]
    if len(enabled) > 1:
        named = " and ".join(repr(flag.key) for flag in enabled)
        both = "both" if len(enabled) == 2 else "all"
        raise ConfigError(source, f"keys {named} are {both} true: a job is distributed in one way only, choose one")
    return enabled[0].kind if enabled else "none"


def _positive_int(params: Mapping[str, Any], keys: Sequence[str], *, default: int, source: str) -> int:
    for key in keys:
        value = params.get(key)
        if value in (None, ""):
            continue
        if isinstance(value, str) and value.strip().isdecimal():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ConfigError(source, f"key {key!r}: expected a whole number of processes >= 1, got {value!r}")
        return value
    return default


def _mpi_options(params: Mapping[str, Any], keys: Sequence[str], source: str) -> tuple[str, ...]:
    options: list[str] = []
    for key in keys:
        value = params.get(key)
        if value in (None, ""):
            continue
        if not isinstance(value, str):
            raise ConfigError(source, f"key {key!r}: expected a string of mpirun options, got {value!r}")
        try:
            tokens = shlex.split(value)
        except ValueError as error:
            raise ConfigError(source, f"key {key!r}: cannot split {value!r} into options: {error}") from error
        options.extend(check_exec_string(token, source=source, what=f"key {key!r}") for token in tokens)
    return tuple(options)
