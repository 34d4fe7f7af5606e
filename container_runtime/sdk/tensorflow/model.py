"""`TensorFlowPredictor` and `TensorFlowModel`, as `sagemaker.tensorflow.model` has them: JSON both ways."""

from __future__ import annotations

from typing import Any

from container_runtime.local.presets import TENSORFLOW
from container_runtime.sdk.deserializers import BaseDeserializer, JSONDeserializer
from container_runtime.sdk.model import FrameworkModel
from container_runtime.sdk.predictor import Predictor
from container_runtime.sdk.serializers import BaseSerializer, JSONSerializer
from container_runtime.sdk.session import Session


class TensorFlowPredictor(Predictor):
    """A Predictor that sends and reads JSON, as the SDK's TensorFlow predictor does."""

    def __init__(self, endpoint_name: str, sagemaker_session: Session | None = None,
                 serializer: BaseSerializer | None = None, deserializer: BaseDeserializer | None = None,
                 model_name: str | None = None, model_version: str | None = None, **kwargs: Any) -> None:
        super().__init__(endpoint_name, sagemaker_session,
                         serializer=serializer if serializer is not None else JSONSerializer(),
                         deserializer=deserializer if deserializer is not None else JSONDeserializer(), **kwargs)
        self.model_name = model_name
        self.model_version = model_version


class TensorFlowModel(FrameworkModel):
    """A trained TensorFlow model (a SavedModel under `<model>/<version>/`) to deploy."""

    preset = TENSORFLOW
    default_predictor_cls = TensorFlowPredictor
