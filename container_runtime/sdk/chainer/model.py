"""`ChainerPredictor` and `ChainerModel`, as `sagemaker.chainer.model` has them: NPY both ways."""

from __future__ import annotations

from typing import Any

from container_runtime.local.presets import CHAINER
from container_runtime.sdk.deserializers import BaseDeserializer, NumpyDeserializer
from container_runtime.sdk.model import FrameworkModel
from container_runtime.sdk.predictor import Predictor
from container_runtime.sdk.serializers import BaseSerializer, NumpySerializer
from container_runtime.sdk.session import Session


class ChainerPredictor(Predictor):
    """A Predictor that sends and reads NPY, as the SDK's Chainer predictor does."""

    def __init__(self, endpoint_name: str, sagemaker_session: Session | None = None,
                 serializer: BaseSerializer | None = None, deserializer: BaseDeserializer | None = None,
                 **kwargs: Any) -> None:
        super().__init__(endpoint_name, sagemaker_session,
                         serializer=serializer if serializer is not None else NumpySerializer(),
                         deserializer=deserializer if deserializer is not None else NumpyDeserializer(), **kwargs)


class ChainerModel(FrameworkModel):
    """A trained Chainer model (`model.tar.gz` or its dir) to deploy with its serving script."""

    preset = CHAINER
    default_predictor_cls = ChainerPredictor
