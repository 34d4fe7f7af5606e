"""What local endpoints and training jobs make of the SDK's instance types, and the checks of
`deploy`'s arguments that the estimators, models and the tuner share."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from container_runtime.local.errors import LocalModeError
from container_runtime.sdk.arguments import log_ignored, refuse

LOCAL_TYPES = ("local", "local_gpu")


def check_instance_type(owner: str, name: str, instance_type: str | None) -> str:
    """`local`, `local_gpu` or an `ml.*` type (run here all the same); None means `local`."""
    if instance_type is None:
        return "local"
    if instance_type in LOCAL_TYPES or instance_type.startswith("ml."):
        return instance_type
    raise LocalModeError(f"{owner}: {name}={instance_type!r}: expected 'local', 'local_gpu' or an ml.* type")


def check_deploy_arguments(initial_instance_count: int | None, instance_type: str | None,
                           ignored: Mapping[str, Any], refused: Mapping[str, Any]) -> None:
    """deploy's arguments: the instance type checked, no-ops logged, what would change the endpoint refused."""
    check_instance_type("deploy", "instance_type", instance_type)
    if initial_instance_count is not None and initial_instance_count < 1:
        raise LocalModeError(f"deploy: initial_instance_count={initial_instance_count}: must be at least 1")
    for name, value in refused.items():
        if value:
            raise refuse("deploy", name, value, "local endpoints are one real-time server")
    log_ignored("deploy", {**ignored, "initial_instance_count": initial_instance_count
                           if initial_instance_count not in (None, 1) else None})


MODEL_ARGUMENTS = ("entry_point", "source_dir", "env", "model_server_workers", "dependencies", "role",
                   "image_uri", "vpc_config", "name", "enable_network_isolation", "predictor_cls")


def model_arguments(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """deploy's `**kwargs`, which the SDK hands to the model: those that set the serving code are used."""
    unknown = sorted(set(kwargs) - set(MODEL_ARGUMENTS))
    if unknown:
        raise TypeError(f"deploy() got an unexpected keyword argument {unknown[0]!r}")
    if kwargs.get("dependencies"):
        raise refuse("deploy", "dependencies", kwargs["dependencies"], "put them in source_dir")
    if kwargs.get("image_uri"):
        raise refuse("deploy", "image_uri", kwargs["image_uri"], "the endpoint runs where the estimator trained")
    log_ignored("deploy", {name: kwargs.get(name) for name in ("role", "vpc_config", "name",
                                                               "enable_network_isolation", "predictor_cls")})
    return dict(kwargs)
