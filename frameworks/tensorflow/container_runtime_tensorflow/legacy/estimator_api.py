"""The part of `tf.estimator` that legacy scripts name, for TensorFlow 2.16+ which lacks it.

Scripts build `EstimatorSpec`s, compare `ModeKeys` and return `export.ServingInputReceiver` and
`export.PredictOutput`; they never drive an Estimator themselves (the runner does). When
TensorFlow has no `tf.estimator`, `install` puts this module in its place.
"""

from __future__ import annotations

import types
from typing import Any


class ModeKeys:
    TRAIN = "train"
    EVAL = "eval"
    PREDICT = "infer"


class EstimatorSpec:
    """What `model_fn` returns; unknown keyword arguments (hooks, scaffold) are accepted and unused."""

    def __init__(
        self,
        mode: str,
        predictions: Any = None,
        loss: Any = None,
        train_op: Any = None,
        eval_metric_ops: Any = None,
        export_outputs: Any = None,
        **unused: Any,
    ) -> None:
        self.mode = mode
        self.predictions = predictions
        self.loss = loss
        self.train_op = train_op
        self.eval_metric_ops = dict(eval_metric_ops or {})
        self.export_outputs = dict(export_outputs or {})
        self.unused = unused


class ServingInputReceiver:
    def __init__(self, features: Any, receiver_tensors: Any, receiver_tensors_alternatives: Any = None) -> None:
        self.features = features if isinstance(features, dict) else {"inputs": features}
        self.receiver_tensors = receiver_tensors if isinstance(receiver_tensors, dict) else {"inputs": receiver_tensors}


class PredictOutput:
    def __init__(self, outputs: Any) -> None:
        self.outputs = outputs if isinstance(outputs, dict) else {"output": outputs}


class ClassificationOutput:
    def __init__(self, scores: Any = None, classes: Any = None) -> None:
        self.outputs = {name: value for name, value in (("scores", scores), ("classes", classes)) if value is not None}


class RegressionOutput:
    def __init__(self, value: Any) -> None:
        self.outputs = {"outputs": value}


export = types.SimpleNamespace(
    ServingInputReceiver=ServingInputReceiver,
    PredictOutput=PredictOutput,
    ClassificationOutput=ClassificationOutput,
    RegressionOutput=RegressionOutput,
)


def install(tf: Any) -> bool:
    """Give `tf` (and `tf.compat.v1`) an `estimator` attribute when it has none; True if installed."""
    if getattr(tf, "estimator", None) is not None:
        return False
    module = types.ModuleType("tensorflow.estimator", __doc__)
    module.ModeKeys = ModeKeys  # type: ignore[attr-defined]
    module.EstimatorSpec = EstimatorSpec  # type: ignore[attr-defined]
    module.export = export  # type: ignore[attr-defined]
    tf.estimator = module
    tf.compat.v1.estimator = module
    return True
