"""Decoding of `hyperparameters.json` and its split into user and platform parameters.

The rules are the SageMaker contract's: each value is tried as JSON and kept raw when that
fails; reserved names and every `sagemaker_*` name are removed from what the user's script
receives.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

from container_runtime.errors import ConfigError

#: Names the platform owns; they never reach the user's command line.
RESERVED_NAMES = frozenset(
    {
        "sagemaker_program",
        "sagemaker_submit_directory",
        "sagemaker_enable_cloudwatch_metrics",
        "sagemaker_region",
        "sagemaker_container_log_level",
        "sagemaker_job_name",
        "default_user_module_name",
        "_tuning_objective_metric",
        "sagemaker_s3_output",
    }
)
PLATFORM_PREFIX = "sagemaker_"


def decode_value(raw: Any) -> Any:
    """Decode one value as JSON; a value that is not a JSON text is kept as given."""
    if not isinstance(raw, (str, bytes, bytearray)):
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def decode_hyperparameters(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Decode every value, keeping the file's order."""
    return {name: decode_value(value) for name, value in raw.items()}


class SplitHyperparameters(NamedTuple):
    """Hyperparameters sorted by who consumes them."""

    user: Mapping[str, Any]
    reserved: Mapping[str, Any]
    framework: Mapping[str, Any]


def split_hyperparameters(decoded: Mapping[str, Any]) -> SplitHyperparameters:
    """Split decoded values into the user's, the reserved ones and the framework's.

    `framework` holds the `sagemaker_*` names outside the reserved set (for example
    `sagemaker_mpi_enabled`); `reserved` holds the reserved set. Both are removed from `user`.
    """
    user: dict[str, Any] = {}
    reserved: dict[str, Any] = {}
    framework: dict[str, Any] = {}
    for name, value in decoded.items():
        if name in RESERVED_NAMES:
            reserved[name] = value
        elif name.startswith(PLATFORM_PREFIX):
            framework[name] = value
        else:
            user[name] = value
    return SplitHyperparameters(
        user=MappingProxyType(user),
        reserved=MappingProxyType(reserved),
        framework=MappingProxyType(framework),
    )


def boolean_parameter(
    params: Mapping[str, Any], key: str, default: bool, *, source: str = "hyperparameters.json"
) -> bool:
    """A true/false hyperparameter (JSON boolean or the strings "true"/"false")."""
    value = params.get(key, default)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ConfigError(source, f"key {key!r}: expected true or false, got {value!r}")
