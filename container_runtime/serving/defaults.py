"""Default handlers for plain numpy models, and the base class framework defaults extend."""

from __future__ import annotations

from typing import Any

from container_runtime.serving import codecs
from container_runtime.serving.errors import ServingError


class MissingModelFn(ServingError):
    status = 503
    error = "ModelNotLoaded"


class DefaultHandlers:
    """`model_fn` must come from the user; the others decode, call and encode with numpy.

    Frameworks subclass this (Chainer, TensorFlow) and override what differs.
    """

    #: Response types `output_fn` can produce, in order of preference for `*/*`-like ranges.
    output_types: tuple[str, ...] = codecs.ENCODABLE
    #: dtype JSON, CSV and JSON Lines bodies are cast to (None keeps numpy's choice).
    text_dtype: Any = None
    #: predict_fn answers one output row per input row, so requests may share a call (batching).
    rowwise_predict = True

    def __init__(self, *, allow_pickle: bool = False, program: str | None = None) -> None:
        self.allow_pickle = allow_pickle
        self.program = program

    def model_fn(self, model_dir: str) -> Any:
        where = self.program or "the module named by SAGEMAKER_PROGRAM"
        raise MissingModelFn(f"no model_fn: define model_fn(model_dir) in {where}")

    def input_fn(self, input_data: bytes | str, content_type: str) -> Any:
        return codecs.decode(input_data, content_type, allow_pickle=self.allow_pickle, dtype=self.text_dtype)

    def predict_fn(self, data: Any, model: Any) -> Any:
        if callable(model):
            return model(data)
        predict = getattr(model, "predict", None)
        if callable(predict):
            return predict(data)
        raise TypeError(f"the model ({type(model).__name__}) is neither callable nor has predict(); define predict_fn")

    def output_fn(self, prediction: Any, accept: str) -> tuple[bytes, str]:
        return codecs.encode(prediction, accept), accept
