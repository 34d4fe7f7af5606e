"""SageMaker Python SDK v2's import paths, for local mode: port a notebook by changing its imports.

    import sagemaker                                  ->  import container_runtime.sdk as sagemaker
    from sagemaker.chainer.estimator import Chainer   ->  from container_runtime.sdk.chainer.estimator import Chainer
    from sagemaker.tuner import HyperparameterTuner   ->  from container_runtime.sdk.tuner import HyperparameterTuner

The classes take the SDK's arguments and run everything on this machine through local mode
(`container_runtime.local`). Names and submodules load when first used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from container_runtime.sdk.analytics import HyperparameterTuningJobAnalytics, TrainingJobAnalytics
    from container_runtime.sdk.estimator import Estimator, Framework
    from container_runtime.sdk.inputs import TrainingInput, s3_input
    from container_runtime.sdk.local import LocalSession
    from container_runtime.sdk.model import FrameworkModel, Model
    from container_runtime.sdk.predictor import Predictor, RealTimePredictor
    from container_runtime.sdk.session import Session, get_execution_role
    from container_runtime.sdk.transformer import Transformer
    from container_runtime.sdk.tuner import HyperparameterTuner

#: Top-level name -> the submodule that defines it.
NAMES = {
    "Session": "session", "get_execution_role": "session", "LocalSession": "local",
    "HyperparameterTuningJobAnalytics": "analytics", "TrainingJobAnalytics": "analytics",
    "Predictor": "predictor", "RealTimePredictor": "predictor", "Estimator": "estimator", "Framework": "estimator",
    "Model": "model", "FrameworkModel": "model", "TrainingInput": "inputs", "s3_input": "inputs",
    "HyperparameterTuner": "tuner", "Transformer": "transformer",
}
SUBMODULES = ("analytics", "chainer", "deserializers", "estimator", "inputs", "local", "model", "parameter",
              "predictor", "s3", "serializers", "session", "tensorflow", "transformer", "tuner")

__all__ = [
    "Estimator", "Framework", "FrameworkModel", "HyperparameterTuner", "HyperparameterTuningJobAnalytics",
    "LocalSession", "Model", "Predictor", "RealTimePredictor", "Session", "TrainingInput", "TrainingJobAnalytics",
    "Transformer", "get_execution_role", "s3_input",
]


def __getattr__(name: str) -> Any:
    if name in NAMES:
        return getattr(importlib.import_module(f"container_runtime.sdk.{NAMES[name]}"), name)
    if name in SUBMODULES:
        return importlib.import_module(f"container_runtime.sdk.{name}")
    raise AttributeError(f"module 'container_runtime.sdk' has no attribute {name!r}")
