"""`Chainer`, as `sagemaker.chainer.estimator` has it: ChainerMN over MPI when `use_mpi`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from container_runtime.local.estimator import Chainer as LocalChainer
from container_runtime.local.estimator import mpi_settings
from container_runtime.local.presets import CHAINER
from container_runtime.sdk.chainer.model import ChainerModel, ChainerPredictor
from container_runtime.sdk.deserializers import NumpyDeserializer
from container_runtime.sdk.estimator import Framework
from container_runtime.sdk.serializers import NumpySerializer


class Chainer(Framework, LocalChainer):
    """The SDK's Chainer estimator; `deploy()` returns a `ChainerPredictor` (NPY in and out)."""

    preset = CHAINER
    predictor_cls = ChainerPredictor
    model_cls = ChainerModel
    default_serializer = NumpySerializer
    default_deserializer = NumpyDeserializer

    def __init__(self, entry_point: str, use_mpi: bool | None = None, num_processes: int | None = None,
                 process_slots_per_host: int | None = None, additional_mpi_options: str | None = None,
                 source_dir: str | None = None, hyperparameters: Mapping[str, Any] | None = None,
                 framework_version: str | None = None, py_version: str | None = None,
                 image_uri: str | None = None, **kwargs: Any) -> None:
        super().__init__(entry_point, source_dir=source_dir, hyperparameters=hyperparameters, image_uri=image_uri,
                         framework_version=framework_version, py_version=py_version, **kwargs)
        self.framework_version = framework_version
        self.py_version = py_version
        self.mpi_settings = mpi_settings(use_mpi, num_processes, process_slots_per_host, additional_mpi_options)


__all__ = ["Chainer"]
