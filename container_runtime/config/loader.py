"""`load_config`: the one place that reads `input/config` and the runtime's variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from container_runtime.config.cli_args import render_cli_args
from container_runtime.config.cluster import load_cluster_settings
from container_runtime.config.devices import count_gpus
from container_runtime.config.distribution import key_table, resolve_distribution
from container_runtime.config.engines import identity_from_engine
from container_runtime.config.exec_strings import check_exec_string, check_variable_name
from container_runtime.config.files import json_type_name, read_json_object
from container_runtime.config.hyperparameters import decode_hyperparameters, split_hyperparameters
from container_runtime.config.model import Channel, CliStyle, TrainingConfig
from container_runtime.config.names import is_channel_name, validate_channel_name, validate_entry_point
from container_runtime.config.paths import DEFAULT_BASE_DIR, JobPaths
from container_runtime.config.resources import (
    parse_resource_config,
    single_host_resource_config,
)
from container_runtime.config.sdk_drivers import DriverSource, load_driver_source, mpi_settings
from container_runtime.config.settings import env_flag, env_seconds, parse_log_level
from container_runtime.errors import ConfigError
from container_runtime.log import INFO

DEFAULT_STOP_GRACE_SECONDS = 120.0
DEFAULT_HOST_WAIT_SECONDS = 300.0
HYPERPARAMETERS_FILE = "hyperparameters.json"
RESOURCE_FILE = "resourceconfig.json"
INPUT_DATA_FILE = "inputdataconfig.json"
CHECKPOINT_FILE = "checkpointconfig.json"


def base_dir_from(environ: Mapping[str, str]) -> Path:
    """`SAGEMAKER_BASE_DIR` when set, else `/opt/ml`."""
    return Path(environ.get("SAGEMAKER_BASE_DIR") or DEFAULT_BASE_DIR)


def load_config(environ: Mapping[str, str]) -> TrainingConfig:
    """Read and validate everything a training run needs. Raises `ConfigError`.

    Every value that reaches a child process as an argument or an environment variable is
    checked here, and the job's `Distribution` is resolved, so nothing later fails on them.
    """
    _check_environ(environ)
    paths = JobPaths(base_dir_from(environ))
    notices: list[str] = []

    hyperparameters_path = paths.config_file(HYPERPARAMETERS_FILE)
    raw_hyperparameters = read_json_object(hyperparameters_path)
    if raw_hyperparameters is None:
        notices.append(f"no {hyperparameters_path}: running with no hyperparameters")
        raw_hyperparameters = {}
    split = split_hyperparameters(decode_hyperparameters(raw_hyperparameters))
    reserved, framework = split.reserved, split.framework
    for name in split.user:
        if "=" in name or "\x00" in name:
            raise ConfigError(
                str(hyperparameters_path),
                f"hyperparameter name {name!r} cannot become an environment variable (it holds '=' or NUL)",
            )

    resource_path = paths.config_file(RESOURCE_FILE)
    raw_resource = read_json_object(resource_path)
    engine = identity_from_engine(environ) if raw_resource is None else None
    if engine is not None:
        notices.append(f"no {resource_path}: hosts from {engine.source}: {', '.join(engine.resource_config['hosts'])}")
        resource = parse_resource_config(engine.resource_config, source=engine.source)
    elif raw_resource is None:
        notices.append(f"no {resource_path}: running as the single host 'algo-1'")
        resource = single_host_resource_config()
    else:
        resource = parse_resource_config(raw_resource, source=str(resource_path))

    input_data_config, channels = _load_channels(paths, notices)

    entry_point = _entry_point(environ, reserved, hyperparameters_path)
    submit_directory = _optional_string(reserved, "sagemaker_submit_directory", hyperparameters_path)
    # The SDK v3 layout runs only when nothing names a program the toolkit's way.
    driver = load_driver_source(paths) if entry_point is None and submit_directory is None else None
    if driver is not None:
        entry_point = driver.entry_script
        notices.append(f"code from the SDK v3 channels: {driver.code_dir} ({_driver_summary(driver)})")
    cli_style = _cli_style(framework, hyperparameters_path, default="json" if driver is not None else "contract")
    # The script's arguments, rendered now only to refuse one that no process could receive.
    render_cli_args(split.user, cli_style, source=str(hyperparameters_path))
    framework_module = environ.get("SAGEMAKER_TRAINING_MODULE") or None
    num_gpus = count_gpus(environ)
    registered, keys = key_table(framework_module)
    distribution = resolve_distribution(
        framework, keys, resource, num_gpus, framework=registered, source=str(hyperparameters_path)
    )
    if driver is not None and driver.distribution_kind == "mpi" and not driver.command:
        per_host, options = mpi_settings(driver)
        per_host = per_host or num_gpus or 1
        distribution = distribution._replace(
            kind="mpi", processes_per_host=per_host, num_processes=per_host * len(distribution.hosts),
            custom_mpi_options=options,
        )
    return TrainingConfig(
        paths=paths,
        resource=resource,
        cluster_engine=engine.engine if engine is not None else None,
        input_data_config=input_data_config,
        channels=channels,
        hyperparameters=split.user,
        framework_params=framework,
        reserved_params=reserved,
        entry_point=entry_point,
        submit_directory=submit_directory,
        framework_module=framework_module,
        distribution=distribution,
        job_name=_optional_string(reserved, "sagemaker_job_name", hyperparameters_path) or "",
        training_job_name=environ.get("TRAINING_JOB_NAME") or None,
        region=_region(environ, reserved, hyperparameters_path),
        log_level=_log_level(reserved, hyperparameters_path),
        cli_style=cli_style,
        checkpoint_dir=_checkpoint_dir(paths),
        num_cpus=os.cpu_count() or 1,
        num_gpus=num_gpus,
        stop_grace_seconds=env_seconds(environ, "SM_STOP_GRACE_SECONDS", DEFAULT_STOP_GRACE_SECONDS),
        host_wait_seconds=env_seconds(environ, "SM_HOST_WAIT_SECONDS", DEFAULT_HOST_WAIT_SECONDS),
        package_artifacts=env_flag(environ, "SM_PACKAGE_ARTIFACTS", default="TRAINING_JOB_ARN" not in environ),
        force_code_extract=env_flag(environ, "SM_FORCE_CODE_EXTRACT", default=False),
        s3_endpoint_url=environ.get("S3_ENDPOINT_URL") or None,
        inherited_environ=MappingProxyType(dict(environ)),
        notices=tuple(notices),
        cluster=load_cluster_settings(environ),
        driver_source=driver,
    )


def _driver_summary(driver: DriverSource) -> str:
    if driver.command:
        return "command " + " ".join(driver.command)
    return f"entry script {driver.entry_script}"


def _check_environ(environ: Mapping[str, str]) -> None:
    """The child inherits every variable, so each must be one `execve` accepts."""
    for name, value in environ.items():
        check_variable_name(name, source="environment")
        check_exec_string(value, source=f"environment variable {name}")


def _load_channels(paths: JobPaths, notices: list[str]) -> tuple[Mapping[str, Any], tuple[Channel, ...]]:
    config_path = paths.config_file(INPUT_DATA_FILE)
    raw = read_json_object(config_path)
    if raw is None:
        names = []
        for name in _channel_dirs(paths.input_data):
            if is_channel_name(name):
                names.append(name)
            else:
                notices.append(f"{paths.input_data / name} is not a channel (not a valid channel name): ignored")
        listed = ", ".join(names) if names else "none"
        notices.append(f"no {config_path}: channels are the subdirectories of {paths.input_data}: {listed}")
        raw = {name: {} for name in names}
    channels = []
    for name in sorted(raw):
        validate_channel_name(name, source=str(config_path))
        channel_config = raw[name]
        if not isinstance(channel_config, dict):
            raise ConfigError(
                str(config_path),
                f"channel {name!r}: expected an object, got {json_type_name(channel_config)}",
            )
        channel_path = paths.channel(name)
        _check_channel_dir(channel_path, name, channel_config, config_path, notices)
        channels.append(Channel(name=name, path=channel_path, config=MappingProxyType(channel_config)))
    return MappingProxyType(raw), tuple(channels)


def _channel_dirs(input_data: Path) -> list[str]:
    try:
        return sorted(entry.name for entry in input_data.iterdir() if entry.is_dir())
    except FileNotFoundError:
        return []
    except OSError as error:
        raise ConfigError(str(input_data), f"cannot list channels: {error.strerror}") from error


def _check_channel_dir(path: Path, name: str, config: Mapping[str, Any], config_path: Path, notices: list[str]) -> None:
    if not os.path.lexists(path):
        if config.get("TrainingInputMode", "File") == "File":
            notices.append(f"channel {name!r}: {path} does not exist")
        return
    try:
        with os.scandir(path):
            pass
    except OSError as error:
        reason = "not a directory" if isinstance(error, NotADirectoryError) else error.strerror
        raise ConfigError(str(config_path), f"channel {name!r}: {path} is not readable: {reason}") from error


def _optional_string(reserved: Mapping[str, Any], key: str, source: Path) -> str | None:
    value = reserved.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ConfigError(str(source), f"key {key!r}: expected a string, got {value!r}")
    # Each becomes an environment variable of the script (SAGEMAKER_JOB_NAME, SM_MODULE_DIR, ...).
    return check_exec_string(value, source=str(source), what=f"key {key!r}")


def _entry_point(environ: Mapping[str, str], reserved: Mapping[str, Any], source: Path) -> str | None:
    from_env = environ.get("SAGEMAKER_PROGRAM")
    if from_env:
        return validate_entry_point(from_env, source="environment variable SAGEMAKER_PROGRAM")
    value = _optional_string(reserved, "sagemaker_program", source)
    if value is None:
        return None
    return validate_entry_point(value, source=f"{source} key 'sagemaker_program'")


def _log_level(reserved: Mapping[str, Any], source: Path) -> int:
    value = reserved.get("sagemaker_container_log_level", INFO)
    return parse_log_level(value, source=str(source), key="key 'sagemaker_container_log_level'")


def _cli_style(framework: Mapping[str, Any], source: Path, *, default: CliStyle) -> CliStyle:
    value = framework.get("sagemaker_cli_style", default)
    if value == "contract":
        return "contract"
    if value == "json":
        return "json"
    raise ConfigError(str(source), f"key 'sagemaker_cli_style': expected 'contract' or 'json', got {value!r}")


def _region(environ: Mapping[str, str], reserved: Mapping[str, Any], source: Path) -> str:
    """The job's region without importing boto3: hyperparameter, variables, then ~/.aws/config."""
    explicit = _optional_string(reserved, "sagemaker_region", source)
    if explicit:
        return explicit
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        if environ.get(name):
            return environ[name]
    config_file = environ.get("AWS_CONFIG_FILE") or os.path.join(
        environ.get("HOME") or os.path.expanduser("~"), ".aws", "config"
    )
    if not os.path.isfile(config_file):
        return ""
    import configparser  # only when an AWS config file exists; it costs start-up time

    profile = environ.get("AWS_PROFILE") or "default"
    parser = configparser.RawConfigParser()
    try:
        parser.read(config_file, encoding="utf-8")
    except (configparser.Error, OSError, UnicodeDecodeError):
        return ""
    section = profile if profile == "default" else f"profile {profile}"
    region = parser.get(section, "region", fallback="")
    return check_exec_string(region, source=config_file, what=f"[{section}] region")


def _checkpoint_dir(paths: JobPaths) -> Path:
    source = paths.config_file(CHECKPOINT_FILE)
    raw = read_json_object(source)
    if raw is None or raw.get("LocalPath") in (None, ""):
        return paths.default_checkpoints
    local_path = raw["LocalPath"]
    if not isinstance(local_path, str) or not os.path.isabs(local_path):
        raise ConfigError(str(source), f"key 'LocalPath': expected an absolute path, got {local_path!r}")
    return Path(check_exec_string(local_path, source=str(source), what="key 'LocalPath'"))
