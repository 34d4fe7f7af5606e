"""Local mode: train, deploy and predict on one machine with no cloud account.

The Python API (`Estimator`, the `Chainer` and `TensorFlow` presets, `Predictor`, `Transformer`) and the
`container-runtime` command line do the same things: lay out a SageMaker-style base dir per
host, run the runtime's `train` on each, collect the artifacts and a `describe.json`, and host
a trained model with the runtime's `serve` (also for batch transform jobs). Nothing heavy is imported
until it is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from container_runtime.local.estimator import Chainer, Estimator, TensorFlow
    from container_runtime.local.predictor import Predictor
    from container_runtime.local.transform.api import Transformer

__all__ = ["Chainer", "Estimator", "Predictor", "TensorFlow", "Transformer"]


def __getattr__(name: str) -> Any:
    if name in ("Chainer", "Estimator", "TensorFlow"):
        from container_runtime.local import estimator

        return getattr(estimator, name)
    if name == "Predictor":
        from container_runtime.local.predictor import Predictor

        return Predictor
    if name == "Transformer":
        from container_runtime.local.transform.api import Transformer

        return Transformer
    raise AttributeError(f"module 'container_runtime.local' has no attribute {name!r}")
