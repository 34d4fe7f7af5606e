"""Default serving handlers for TensorFlow models (`SAGEMAKER_SERVING_FRAMEWORK=tensorflow`).

`model_fn` loads the newest SavedModel (a numeric version dir such as `<model>/1/`, or the
legacy `<model>/export/Servo/<timestamp>/`) or, failing that, a Keras model file. Requests
follow TensorFlow Serving's REST shapes: `{"instances": [...]}` (row format, instances may be
objects of named inputs), `{"inputs": ...}` (columnar), or a bare list, where a flat list is one
instance and a list of lists is several; CSV lines and NPY rows are instances. Signature input
names and dtypes are respected; JSON answers are `{"predictions": [...]}`, with one object per
instance when the signature has several named outputs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from container_runtime.serving import codecs
from container_runtime.serving import content_types as ct
from container_runtime.serving.defaults import DefaultHandlers, MissingModelFn
from container_runtime.serving.errors import InvalidInput, NotAcceptable

SIGNATURE = "serving_default"
KERAS_FILES = ("*.keras", "*.h5")


def find_saved_model(model_dir: Path) -> Path | None:
    """The newest numbered SavedModel dir under `model_dir`, or None."""
    versions = [
        path.parent
        for name in ("saved_model.pb", "saved_model.pbtxt")
        for path in model_dir.rglob(name)
        if path.parent.name.isdigit()
    ]
    return max(versions, key=lambda path: (int(path.name), str(path))) if versions else None


class TensorFlowModel:
    """A loaded SavedModel signature (or Keras model) with its input and output names."""

    def __init__(self, function: Any, input_specs: dict[str, Any], source: Path, owner: Any = None) -> None:
        self.function = function
        self.input_specs = input_specs
        self.source = source
        #: The loaded SavedModel object: its signature functions need it alive.
        self.owner = owner

    def __call__(self, inputs: Any) -> Any:
        import tensorflow as tf

        if not isinstance(inputs, dict):
            if len(self.input_specs) != 1:
                names = ", ".join(sorted(self.input_specs))
                raise InvalidInput(f"the model takes named inputs ({names}): send instances as objects")
            inputs = {next(iter(self.input_specs)): inputs}
        unknown = sorted(set(inputs) - set(self.input_specs))
        missing = sorted(set(self.input_specs) - set(inputs))
        if unknown or missing:
            raise InvalidInput(f"inputs do not match the signature: missing {missing}, unknown {unknown}")
        tensors = {}
        for name, value in inputs.items():
            spec = self.input_specs[name]
            try:
                tensors[name] = tf.constant(np.asarray(value), dtype=spec.dtype)
            except (ValueError, TypeError) as error:
                raise InvalidInput(f"input {name!r} cannot be a {spec.dtype.name} tensor: {error}") from error
        outputs = self.function(**tensors)
        if not isinstance(outputs, dict):
            return outputs.numpy()
        if len(outputs) == 1:  # TF Serving omits the name of a lone output
            return next(iter(outputs.values())).numpy()
        return {name: value.numpy() for name, value in outputs.items()}


class TensorFlowHandlers(DefaultHandlers):
    output_types = (ct.JSON, ct.NPY, ct.CSV, ct.JSON_LINES)

    def model_fn(self, model_dir: str) -> Any:
        import tensorflow as tf

        directory = Path(model_dir)
        saved_model = find_saved_model(directory)
        if saved_model is not None:
            loaded = tf.saved_model.load(str(saved_model))
            if SIGNATURE not in loaded.signatures:
                raise MissingModelFn(f"{saved_model} has no {SIGNATURE!r} signature")
            signature = loaded.signatures[SIGNATURE]
            specs = dict(signature.structured_input_signature[1])
            return TensorFlowModel(signature, specs, saved_model, owner=loaded)
        for pattern in KERAS_FILES:
            for path in sorted(directory.glob(pattern)):
                keras_model = tf.keras.models.load_model(str(path))
                return keras_model
        where = self.program or "the module named by SAGEMAKER_PROGRAM"
        raise MissingModelFn(
            f"no SavedModel (<model>/<version>/saved_model.pb) or Keras file in {model_dir}; "
            f"save one there or define model_fn in {where}"
        )

    def input_fn(self, input_data: bytes | str, content_type: str) -> Any:
        if content_type == ct.JSON:
            return _json_instances(_parse_json(input_data))
        if content_type in ct.JSON_LINES_ALIASES:
            text = input_data if isinstance(input_data, str) else input_data.decode("utf-8")
            return _stack([_parse_json(line) for line in text.splitlines() if line.strip()])
        if content_type == ct.CSV:
            rows = codecs.decode(input_data, ct.CSV)
            return rows.reshape(-1, 1) if rows.ndim == 1 else rows
        return codecs.decode(input_data, content_type, allow_pickle=self.allow_pickle)

    def predict_fn(self, data: Any, model: Any) -> Any:
        if isinstance(model, TensorFlowModel):
            return model(data)
        return np.asarray(model(data, training=False))

    def output_fn(self, prediction: Any, accept: str) -> tuple[bytes, str]:
        if accept == ct.JSON:
            return json.dumps({"predictions": _rows(prediction)}, default=codecs.json_default).encode(), accept
        if accept in ct.JSON_LINES_ALIASES:
            lines = "".join(json.dumps(row, default=codecs.json_default) + "\n" for row in _rows(prediction))
            return lines.encode(), accept
        if isinstance(prediction, dict):
            if len(prediction) != 1:
                raise NotAcceptable(f"the model has {len(prediction)} named outputs: ask for application/json")
            prediction = next(iter(prediction.values()))
        return codecs.encode(prediction, accept), accept


def _parse_json(data: bytes | str) -> Any:
    try:
        return json.loads(data)
    except ValueError as error:
        raise InvalidInput(f"the body is not valid JSON: {error}") from error


def _json_instances(value: Any) -> Any:
    if isinstance(value, dict):
        if "instances" in value:
            return _stack(value["instances"])
        if "inputs" in value:
            inputs = value["inputs"]
            return {k: np.asarray(v) for k, v in inputs.items()} if isinstance(inputs, dict) else np.asarray(inputs)
        raise InvalidInput('a JSON object body needs "instances" or "inputs"')
    if isinstance(value, list):
        flat = not any(isinstance(item, (list, dict)) for item in value)
        return _stack([value] if flat else value)
    raise InvalidInput("expected a JSON list, or an object with instances or inputs")


def _stack(instances: Any) -> Any:
    """Row format to batch: a list of objects becomes named batched inputs."""
    if not isinstance(instances, list) or not instances:
        raise InvalidInput("instances must be a non-empty list")
    if all(isinstance(item, dict) for item in instances):
        names = set(instances[0])
        if any(set(item) != names for item in instances):
            raise InvalidInput("every instance must have the same named inputs")
        return {name: np.asarray([item[name] for item in instances]) for name in sorted(names)}
    try:
        return np.asarray(instances)
    except ValueError as error:
        raise InvalidInput(f"instances are not a rectangular array: {error}") from error


def _rows(prediction: Any) -> list[Any]:
    """Row format: one entry per instance; several named outputs give one object per instance."""
    if isinstance(prediction, dict):
        columns = {name: np.asarray(value).tolist() for name, value in prediction.items()}
        count = len(next(iter(columns.values()))) if columns else 0
        return [{name: values[index] for name, values in columns.items()} for index in range(count)]
    result = np.asarray(prediction).tolist()
    return result if isinstance(result, list) else [result]
