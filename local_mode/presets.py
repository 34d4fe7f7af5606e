"""Framework presets: which runtime adapter trains, which serving defaults serve, which content
type predictions travel in by default (the SDK's predictors: NPY for Chainer, JSON for TensorFlow)."""

from __future__ import annotations

from typing import NamedTuple

from local_mode.errors import LocalModeError


class FrameworkPreset(NamedTuple):
    name: str
    training_module: str | None
    serving_framework: str
    content_type: str

    @property
    def training_environment(self) -> dict[str, str]:
        return {"SAGEMAKER_TRAINING_MODULE": self.training_module} if self.training_module else {}


GENERIC = FrameworkPreset("generic", None, "numpy", "application/json")
CHAINER = FrameworkPreset("chainer", "frameworks.chainer.training:run", "chainer", "application/x-npy")
TENSORFLOW = FrameworkPreset("tensorflow", "frameworks.tensorflow.training:run", "tensorflow", "application/json")
PRESETS = {preset.name: preset for preset in (GENERIC, CHAINER, TENSORFLOW)}


def preset_named(name: str) -> FrameworkPreset:
    try:
        return PRESETS[name]
    except KeyError:
        raise LocalModeError(f"framework {name!r}: choose one of {', '.join(PRESETS)}") from None
