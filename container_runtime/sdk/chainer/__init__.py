"""`sagemaker.chainer`'s names, loaded when first used."""

from __future__ import annotations

from typing import Any

__all__ = ["Chainer", "ChainerModel", "ChainerPredictor"]


def __getattr__(name: str) -> Any:
    if name == "Chainer":
        from container_runtime.sdk.chainer.estimator import Chainer

        return Chainer
    if name in ("ChainerModel", "ChainerPredictor"):
        from container_runtime.sdk.chainer import model

        return getattr(model, name)
    raise AttributeError(f"module 'container_runtime.sdk.chainer' has no attribute {name!r}")
