"""Framework presets: which runtime adapter trains, which serving defaults serve, which content
type predictions travel in by default (the SDK's predictors: NPY for Chainer, JSON for TensorFlow).

The adapter is the one the framework registered under its name (`container_runtime.plugins`), so
local mode names no framework module either.
"""

from __future__ import annotations

from typing import NamedTuple

from container_runtime.errors import ConfigError
from container_runtime.local.errors import LocalModeError
from container_runtime.plugins import TRAINING_ADAPTERS, plugin_entry


class FrameworkPreset(NamedTuple):
    name: str
    #: The registered training adapter's name, or None for the runtime's generic flow.
    training_adapter: str | None
    serving_framework: str
    content_type: str

    @property
    def training_environment(self) -> dict[str, str]:
        """`SAGEMAKER_TRAINING_MODULE` for the adapter (module:function, as a framework image sets it)."""
        if self.training_adapter is None:
            return {}
        try:
            entry = plugin_entry(TRAINING_ADAPTERS, self.training_adapter, f"framework {self.name!r}")
        except ConfigError as error:
            raise LocalModeError(error.one_line()) from None
        return {"SAGEMAKER_TRAINING_MODULE": entry.value}


GENERIC = FrameworkPreset("generic", None, "numpy", "application/json")
CHAINER = FrameworkPreset("chainer", "chainer", "chainer", "application/x-npy")
TENSORFLOW = FrameworkPreset("tensorflow", "tensorflow", "tensorflow", "application/json")
PRESETS = {preset.name: preset for preset in (GENERIC, CHAINER, TENSORFLOW)}


def preset_named(name: str) -> FrameworkPreset:
    try:
        return PRESETS[name]
    except KeyError:
        raise LocalModeError(f"framework {name!r}: choose one of {', '.join(PRESETS)}") from None
