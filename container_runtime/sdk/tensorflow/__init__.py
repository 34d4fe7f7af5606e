"""`sagemaker.tensorflow`'s names, loaded when first used."""

from __future__ import annotations

from typing import Any

__all__ = ["TensorFlow", "TensorFlowModel", "TensorFlowPredictor"]


def __getattr__(name: str) -> Any:
    if name == "TensorFlow":
        from container_runtime.sdk.tensorflow.estimator import TensorFlow

        return TensorFlow
    if name in ("TensorFlowModel", "TensorFlowPredictor"):
        from container_runtime.sdk.tensorflow import model

        return getattr(model, name)
    raise AttributeError(f"module 'container_runtime.sdk.tensorflow' has no attribute {name!r}")
