"""Default serving handlers for Chainer models (`SAGEMAKER_SERVING_FRAMEWORK=chainer`).

`model_fn` must come from the user's script. JSON, CSV and JSON Lines bodies become float32
arrays (NPY keeps its dtype); `predict_fn` runs the model with `train=False` and no backprop
and returns a numpy array, copied back from the GPU when the model lives there.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from container_runtime.serving.defaults import DefaultHandlers, MissingModelFn


class ChainerHandlers(DefaultHandlers):
    text_dtype = np.float32

    def model_fn(self, model_dir: str) -> Any:
        where = self.program or "the module named by SAGEMAKER_PROGRAM"
        raise MissingModelFn(
            f"Chainer serving needs model_fn(model_dir) in {where}: it must rebuild and load the model"
        )

    def predict_fn(self, data: Any, model: Any) -> Any:
        import chainer

        xp = getattr(model, "xp", None)
        if xp is not None and xp is not np:
            data = xp.asarray(data)  # the user's model_fn moved the model to a GPU
        with chainer.using_config("train", False), chainer.no_backprop_mode():
            result = model(data)
        return to_host(getattr(result, "array", result))


def to_host(array: Any) -> Any:
    """A numpy array for a device array (cupy's `.get()`), the value itself otherwise."""
    if isinstance(array, np.ndarray):
        return array
    get = getattr(array, "get", None)
    return get() if callable(get) else array
