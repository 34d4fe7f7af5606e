"""`TensorFlow`, as `sagemaker.tensorflow.estimator` has it (script mode), plus SDK v1's legacy
arguments (`training_steps`, `evaluation_steps`, `requirements_file`, `checkpoint_path`,
`script_mode`, `distributions`) that the notebooks still pass."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from container_runtime.local.errors import LocalModeError
from container_runtime.local.estimator import TensorFlow as LocalTensorFlow
from container_runtime.local.presets import TENSORFLOW
from container_runtime.sdk.arguments import refuse, renamed
from container_runtime.sdk.deserializers import JSONDeserializer
from container_runtime.sdk.estimator import Framework
from container_runtime.sdk.serializers import JSONSerializer
from container_runtime.sdk.tensorflow.model import TensorFlowModel, TensorFlowPredictor

#: Where SageMaker mounts the model dir: on the Docker backend it is sent as the SDK sends it; on
#: processes the script's own default (`SM_MODEL_DIR`, the same dir) stands in for it.
CONTAINER_MODEL_DIR = "/opt/ml/model"
LEGACY = ("training_steps", "evaluation_steps", "checkpoint_path")


class TensorFlow(Framework, LocalTensorFlow):
    """The SDK's TensorFlow estimator; `deploy()` returns a `TensorFlowPredictor` (JSON in and out)."""

    preset = TENSORFLOW
    predictor_cls = TensorFlowPredictor
    model_cls = TensorFlowModel
    default_serializer = JSONSerializer
    default_deserializer = JSONDeserializer

    def __init__(self, py_version: str | None = None, framework_version: str | None = None,
                 model_dir: str | bool | None = None, image_uri: str | None = None,
                 distribution: Mapping[str, Any] | None = None, compiler_config: Any = None,
                 *, script_mode: bool | None = None, training_steps: int | None = None,
                 evaluation_steps: int | None = None, requirements_file: str | None = None,
                 checkpoint_path: str | None = None, distributions: Mapping[str, Any] | None = None,
                 **kwargs: Any) -> None:
        if "entry_point" not in kwargs:
            raise TypeError("TensorFlow() missing required argument: 'entry_point'")
        if compiler_config is not None:
            raise refuse("TensorFlow", "compiler_config", compiler_config, "no SageMaker Training Compiler here")
        if requirements_file is not None:
            raise refuse("TensorFlow", "requirements_file", requirements_file,
                         "put requirements.txt in source_dir (the runtime installs it)")
        distribution = renamed("TensorFlow", "distribution", distribution, "distributions", distributions)
        super().__init__(image_uri=image_uri, framework_version=framework_version, py_version=py_version, **kwargs)
        self.framework_version = framework_version
        self.py_version = py_version
        self.model_dir = model_dir
        self.script_mode = script_mode
        self.legacy = {name: value for name, value in zip(
            LEGACY, (training_steps, evaluation_steps, checkpoint_path), strict=True) if value is not None}
        self.distribution = dict(distribution or {})
        try:
            self.framework_hyperparameters()  # a distribution kind we lack fails now, not at fit
        except LocalModeError as error:
            raise LocalModeError(f"TensorFlow: distribution: {error}") from None

    def framework_hyperparameters(self) -> dict[str, Any]:
        settings = {**super().framework_hyperparameters(), **self.legacy}
        model_dir = self.model_dir
        if model_dir is None and self.backend == "docker":
            model_dir = CONTAINER_MODEL_DIR
        if model_dir and not (model_dir == CONTAINER_MODEL_DIR and self.backend != "docker"):
            settings["model_dir"] = model_dir
        return settings


__all__ = ["TensorFlow"]
