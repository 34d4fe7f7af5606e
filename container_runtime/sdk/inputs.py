"""`TrainingInput` (and v1's `s3_input`), as `sagemaker.inputs` has them, and how `fit`'s inputs
become local channels: a URI or path per channel name, with what would change the data refused."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from container_runtime.local.errors import LocalModeError
from container_runtime.sdk.arguments import log_ignored, refuse

FILE_MODES = (None, "File", "FastFile")


class TrainingInput:
    """One channel's data: `s3_data` is an `s3://` or `file://` URI (or a local path)."""

    def __init__(self, s3_data: str, distribution: str | None = None, compression: str | None = None,
                 content_type: str | None = None, record_wrapping: str | None = None,
                 s3_data_type: str = "S3Prefix", instance_groups: list[str] | None = None,
                 input_mode: str | None = None, attribute_names: list[str] | None = None,
                 target_attribute_name: str | None = None, shuffle_config: Any = None) -> None:
        self.s3_data = s3_data
        self.distribution = distribution
        self.compression = compression
        self.content_type = content_type
        self.record_wrapping = record_wrapping
        self.s3_data_type = s3_data_type
        self.instance_groups = instance_groups
        self.input_mode = input_mode
        self.attribute_names = attribute_names
        self.target_attribute_name = target_attribute_name
        self.shuffle_config = shuffle_config


s3_input = TrainingInput


def channel_location(name: str, data: Any, instance_count: int) -> str | Path:
    """Where channel `name` reads from; a `TrainingInput` whose settings would change the data is refused."""
    if isinstance(data, (str, Path)):
        return data
    if not isinstance(data, TrainingInput):
        raise LocalModeError(f"fit: channel {name!r}: expected a path, a URI or a TrainingInput, "
                             f"not {type(data).__name__}")
    owner = f"TrainingInput for channel {name!r}"
    if data.input_mode not in FILE_MODES:
        raise refuse(owner, "input_mode", data.input_mode, "local channels are files (File mode)")
    if data.s3_data_type != "S3Prefix":
        raise refuse(owner, "s3_data_type", data.s3_data_type, "only S3Prefix")
    if data.distribution == "ShardedByS3Key" and instance_count > 1:
        raise refuse(owner, "distribution", data.distribution, "every host gets the whole channel")
    if data.record_wrapping is not None:
        raise refuse(owner, "record_wrapping", data.record_wrapping, "records are not wrapped in File mode")
    if data.shuffle_config is not None:
        raise refuse(owner, "shuffle_config", data.shuffle_config, "files are not shuffled in File mode")
    log_ignored(owner, {"compression": data.compression, "content_type": data.content_type,
                        "instance_groups": data.instance_groups, "attribute_names": data.attribute_names,
                        "target_attribute_name": data.target_attribute_name})
    return data.s3_data


def channels_of(inputs: Any, instance_count: int) -> str | Path | dict[str, str | Path] | None:
    """`fit`'s inputs as local mode's estimator takes them (a single input is the `training` channel)."""
    if inputs is None or isinstance(inputs, (str, Path)):
        return inputs
    if isinstance(inputs, TrainingInput):
        return {"training": channel_location("training", inputs, instance_count)}
    if isinstance(inputs, Mapping):
        return {str(name): channel_location(str(name), data, instance_count) for name, data in inputs.items()}
    raise LocalModeError(f"fit: inputs of type {type(inputs).__name__}: expected a path, a URI, a TrainingInput "
                         "or a dict of them")
