"""The directory layout of one training job under its base dir (`/opt/ml` by default)."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

DEFAULT_BASE_DIR = "/opt/ml"


class JobPaths(NamedTuple):
    """Every path the SageMaker contract derives from the base dir."""

    base: Path

    @property
    def code(self) -> Path:
        return self.base / "code"

    @property
    def model(self) -> Path:
        return self.base / "model"

    @property
    def input(self) -> Path:
        return self.base / "input"

    @property
    def input_config(self) -> Path:
        return self.base / "input" / "config"

    @property
    def input_data(self) -> Path:
        return self.base / "input" / "data"

    @property
    def output(self) -> Path:
        return self.base / "output"

    @property
    def output_data(self) -> Path:
        return self.base / "output" / "data"

    @property
    def output_intermediate(self) -> Path:
        return self.base / "output" / "intermediate"

    @property
    def default_checkpoints(self) -> Path:
        return self.base / "checkpoints"

    @property
    def success_file(self) -> Path:
        return self.output / "success"

    @property
    def failure_file(self) -> Path:
        return self.output / "failure"

    def config_file(self, name: str) -> Path:
        return self.input_config / name

    def channel(self, name: str) -> Path:
        return self.input_data / name
