"""Runs a legacy `model_fn` script: train to `training_steps`, evaluate, export for serving.

Started by the TensorFlow adapter as `python -m container_runtime_tensorflow.legacy.runner <script>`,
inside the job's supervised process, with the `SM_*` variables set. Each phase builds its own
`tf.compat.v1` graph around the user's functions:

1. train: `train_input_fn` -> `model_fn(TRAIN)`; run `train_op` until the global step reaches
   `training_steps` (resuming from a checkpoint), logging `loss = X, step = N`, then checkpoint;
2. evaluate: `eval_input_fn` -> `model_fn(EVAL)`; `evaluation_steps` batches of the metric
   update ops, logging `Saving dict for global step N: accuracy = X, global_step = N, loss = Y`;
3. export: `serving_input_fn` -> `model_fn(PREDICT)`; a SavedModel with a `serving_default`
   signature under `<checkpoint dir>/export/Servo/<timestamp>/`, copied into the model dir.

Input functions get their arguments by name: `training_dir`/`dir` (the `training` channel),
`hyperparameters`/`params`, `input_channels`/`channels`. Hyperparameters read here:
`training_steps`, `evaluation_steps`, `log_step_count_steps`, `keep_checkpoint_max`,
`save_checkpoints_steps`, `save_checkpoints_secs`; other RunConfig ones (summaries, throttling)
have nothing to act on without an Estimator and are ignored.
"""

from __future__ import annotations

import importlib.util
import inspect
import json
import os
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

DEFAULT_TRAINING_STEPS = 1000
DEFAULT_EVALUATION_STEPS = 100
DEFAULT_LOG_EVERY = 100
DEFAULT_SAVE_SECONDS = 600.0


class LegacyJob:
    """The job's settings, read once from the `SM_*` variables the runtime exported."""

    def __init__(self, environ: dict[str, str], checkpoint_dir: Path) -> None:
        self.params: dict[str, Any] = json.loads(environ.get("SM_HPS") or "{}")
        self.channels = {
            name: environ[f"SM_CHANNEL_{name.upper()}"] for name in json.loads(environ.get("SM_CHANNELS") or "[]")
        }
        self.model_dir = Path(environ.get("SM_MODEL_DIR", "/opt/ml/model"))
        self.training_steps = int(self.params.get("training_steps", DEFAULT_TRAINING_STEPS))
        self.evaluation_steps = int(self.params.get("evaluation_steps", DEFAULT_EVALUATION_STEPS))
        self.log_every = int(self.params.get("log_step_count_steps", DEFAULT_LOG_EVERY))
        self.checkpoint_dir = checkpoint_dir
        self.save_every_steps = int(self.params.get("save_checkpoints_steps") or 0)
        self.save_every_seconds = float(self.params.get("save_checkpoints_secs") or DEFAULT_SAVE_SECONDS)

    def checkpoint_due(self, step: int, seconds_since_save: float) -> bool:
        """`save_checkpoints_steps` when given, else every `save_checkpoints_secs` (600 by default)."""
        if self.save_every_steps:
            return step % self.save_every_steps == 0
        return seconds_since_save >= self.save_every_seconds

    @property
    def training_dir(self) -> str | None:
        return self.channels.get("training") or next(iter(self.channels.values()), None)

    def input_arguments(self, function: Callable[..., Any]) -> dict[str, Any]:
        """Arguments for an input function, matched by parameter name."""
        values = {
            "training_dir": self.training_dir,
            "dir": self.training_dir,
            "hyperparameters": self.params,
            "params": self.params,
            "input_channels": self.channels,
            "channels": self.channels,
        }
        names = inspect.signature(function).parameters
        return {name: values[name] for name in names if name in values}


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[1] != "--checkpoint-dir":
        print(f"usage: python -m {__spec__.name} <script.py> --checkpoint-dir DIR", file=sys.stderr)
        return 2
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # tf.compat.v1.layers needs Keras 2
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    from container_runtime_tensorflow.legacy import estimator_api

    estimator_api.install(tf)
    job = LegacyJob(dict(os.environ), Path(argv[2]))
    module = _import_script(Path(argv[0]))
    has_model = callable(getattr(module, "model_fn", None)) or callable(getattr(module, "keras_model_fn", None))
    if not has_model or not callable(getattr(module, "train_input_fn", None)):
        print(f"{argv[0]}: legacy scripts need model_fn (or keras_model_fn) and train_input_fn", file=sys.stderr)
        return 1
    job.checkpoint_dir.mkdir(parents=True, exist_ok=True)
    if not callable(getattr(module, "model_fn", None)):
        run_keras(tf, module, job)
        return 0
    step = train(tf, module, job)
    if callable(getattr(module, "eval_input_fn", None)):
        evaluate(tf, module, job, step)
    if callable(getattr(module, "serving_input_fn", None)):
        export(tf, module, job)
    else:
        print("WARNING: no serving_input_fn in the script: the model is NOT saved for serving", flush=True)
    return 0


def _import_script(path: Path) -> ModuleType:
    sys.path.insert(0, str(path.resolve().parent))
    spec = importlib.util.spec_from_file_location(path.stem, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module


def call_model_fn(module: ModuleType, features: Any, labels: Any, mode: str, params: dict[str, Any]) -> Any:
    """`model_fn(features, labels, mode, params)`, passing only as many as it takes."""
    arguments = [features, labels, mode, params]
    count = len(inspect.signature(module.model_fn).parameters)
    return module.model_fn(*arguments[:count])


def features_and_labels(tf: Any, result: Any) -> tuple[Any, Any]:
    """Input functions return (features, labels) tensors or a Dataset of such pairs."""
    if isinstance(result, tf.data.Dataset):
        result = tf.compat.v1.data.make_one_shot_iterator(result).get_next()
    if isinstance(result, (tuple, list)) and len(result) == 2:
        return result[0], result[1]
    return result, None


def train(tf: Any, module: ModuleType, job: LegacyJob) -> int:
    with tf.Graph().as_default():
        global_step = tf.compat.v1.train.get_or_create_global_step()
        features, labels = features_and_labels(tf, module.train_input_fn(**job.input_arguments(module.train_input_fn)))
        spec = call_model_fn(module, features, labels, "train", job.params)
        with tf.control_dependencies([spec.train_op]):
            step_after_train = global_step.read_value()  # the step this train_op produced
        saver = tf.compat.v1.train.Saver(max_to_keep=int(job.params.get("keep_checkpoint_max", 5)))
        with tf.compat.v1.Session() as session:
            session.run([tf.compat.v1.global_variables_initializer(), tf.compat.v1.local_variables_initializer()])
            latest = tf.train.latest_checkpoint(str(job.checkpoint_dir))
            if latest:
                saver.restore(session, latest)
                print(f"Restored {latest}", flush=True)
            step = int(session.run(global_step))
            started, first = time.monotonic(), step
            last_save = started
            prefix = str(job.checkpoint_dir / "model.ckpt")
            with _queue_runners(tf, session):
                while step < job.training_steps:
                    loss, step = session.run([spec.loss, step_after_train])
                    step = int(step)
                    if step == first + 1 or step % job.log_every == 0 or step >= job.training_steps:
                        rate = (step - first) / max(time.monotonic() - started, 1e-9)
                        print(f"loss = {float(loss):.6f}, step = {step} ({rate:.1f} steps/s)", flush=True)
                    if step < job.training_steps and job.checkpoint_due(step, time.monotonic() - last_save):
                        print(f"Saving checkpoints for {step} into {saver.save(session, prefix, global_step=step)}")
                        last_save = time.monotonic()
            path = saver.save(session, prefix, global_step=step)
            print(f"Saving checkpoints for {step} into {path}", flush=True)
    return step


def evaluate(tf: Any, module: ModuleType, job: LegacyJob, step: int) -> dict[str, float]:
    with tf.Graph().as_default():
        global_step = tf.compat.v1.train.get_or_create_global_step()
        features, labels = features_and_labels(tf, module.eval_input_fn(**job.input_arguments(module.eval_input_fn)))
        spec = call_model_fn(module, features, labels, "eval", job.params)
        loss_mean = tf.compat.v1.metrics.mean(spec.loss) if spec.loss is not None else None
        metrics = dict(spec.eval_metric_ops)
        if loss_mean is not None:
            metrics.setdefault("loss", loss_mean)
        updates = [update for _, update in metrics.values()]
        saver = tf.compat.v1.train.Saver()
        with tf.compat.v1.Session() as session:
            session.run([tf.compat.v1.global_variables_initializer(), tf.compat.v1.local_variables_initializer()])
            saver.restore(session, tf.train.latest_checkpoint(str(job.checkpoint_dir)))
            with _queue_runners(tf, session):
                for _ in range(job.evaluation_steps):
                    try:
                        session.run(updates)
                    except tf.errors.OutOfRangeError:
                        break
            values = {name: float(session.run(value)) for name, (value, _) in metrics.items()}
            values["global_step"] = float(session.run(global_step))
    print_evaluation(step, values)
    return values


def print_evaluation(step: int, values: dict[str, float]) -> None:
    """The TF1 Estimator's evaluation line, which tuning regexes read."""
    rendered = ", ".join(
        f"{name} = {int(value) if name == 'global_step' else round(value, 6)}" for name, value in sorted(values.items())
    )
    print(f"Saving dict for global step {step}: {rendered}", flush=True)


def export(tf: Any, module: ModuleType, job: LegacyJob) -> Path:
    timestamp = str(int(time.time()))
    export_dir = job.checkpoint_dir / "export" / "Servo" / timestamp
    with tf.Graph().as_default():
        tf.compat.v1.train.get_or_create_global_step()
        receiver = _call_serving_input_fn(module, job.params)
        spec = call_model_fn(module, receiver.features, None, "infer", job.params)
        signatures = _signatures(tf, receiver, spec)
        saver = tf.compat.v1.train.Saver()
        with tf.compat.v1.Session() as session:
            saver.restore(session, tf.train.latest_checkpoint(str(job.checkpoint_dir)))
            builder = tf.compat.v1.saved_model.Builder(str(export_dir))
            builder.add_meta_graph_and_variables(
                session, [tf.compat.v1.saved_model.tag_constants.SERVING], signature_def_map=signatures
            )
            builder.save()
    print(f"Exported the model for serving to {export_dir}", flush=True)
    if export_dir.resolve() != (job.model_dir / "export" / "Servo" / timestamp).resolve():
        target = job.model_dir / "export" / "Servo" / timestamp
        shutil.copytree(export_dir, target)
        print(f"Copied it to {target}", flush=True)
    return export_dir


def run_keras(tf: Any, module: ModuleType, job: LegacyJob) -> None:
    """`keras_model_fn(hyperparameters)` returns a compiled Keras model: fit it for
    `training_steps` batches, evaluate, and export a SavedModel, with the same log lines."""
    model = module.keras_model_fn(job.params)

    def dataset(function: Callable[..., Any]) -> Any:
        data = function(**job.input_arguments(function))
        if not isinstance(data, tf.data.Dataset):
            data = tf.data.Dataset.from_tensors(tuple(data) if isinstance(data, (tuple, list)) else data)
        return data.map(_single_feature) if len(model.inputs) == 1 else data

    class StepLog(tf.keras.callbacks.Callback):  # type: ignore[misc]
        def on_train_batch_end(self, batch: int, logs: dict[str, float] | None = None) -> None:
            step = batch + 1
            if step == 1 or step % job.log_every == 0 or step >= job.training_steps:
                print(f"loss = {float((logs or {}).get('loss', 0.0)):.6f}, step = {step}", flush=True)

    model.fit(
        dataset(module.train_input_fn), epochs=1, steps_per_epoch=job.training_steps, verbose=0, callbacks=[StepLog()]
    )
    step = job.training_steps
    model.save_weights(str(job.checkpoint_dir / f"model.ckpt-{step}"))
    print(f"Saving checkpoints for {step} into {job.checkpoint_dir / f'model.ckpt-{step}'}", flush=True)
    if callable(getattr(module, "eval_input_fn", None)):
        results = model.evaluate(dataset(module.eval_input_fn), steps=job.evaluation_steps, verbose=0, return_dict=True)
        values = {**{name: float(value) for name, value in results.items()}, "global_step": float(step)}
        print_evaluation(step, values)
    timestamp = str(int(time.time()))
    export_dir = job.model_dir / "export" / "Servo" / timestamp
    tf.saved_model.save(model, str(export_dir))
    print(f"Exported the model for serving to {export_dir}", flush=True)


def _single_feature(features: Any, labels: Any = None) -> Any:
    """A dict of one feature feeds a one-input Keras model as the bare tensor."""
    if isinstance(features, dict) and len(features) == 1:
        features = next(iter(features.values()))
    return features if labels is None else (features, labels)


class _queue_runners:
    """Starts TF1 queue runners (`tf.train.batch` style input functions) and stops them after."""

    def __init__(self, tf: Any, session: Any) -> None:
        self.tf = tf
        self.session = session
        self.coordinator = tf.compat.v1.train.Coordinator()
        self.threads: list[Any] = []

    def __enter__(self) -> None:
        self.threads = self.tf.compat.v1.train.start_queue_runners(self.session, coord=self.coordinator)

    def __exit__(self, *exc_info: object) -> None:
        self.coordinator.request_stop()
        self.coordinator.join(self.threads, stop_grace_period_secs=10)


def _call_serving_input_fn(module: ModuleType, params: dict[str, Any]) -> Any:
    function = module.serving_input_fn
    return function(params) if inspect.signature(function).parameters else function()


def _signatures(tf: Any, receiver: Any, spec: Any) -> dict[str, Any]:
    build = tf.compat.v1.saved_model.signature_def_utils.predict_signature_def
    outputs = spec.export_outputs or {}
    signatures = {}
    for name, output in outputs.items():
        signatures[name] = build(receiver.receiver_tensors, output.outputs)
    if "serving_default" not in signatures:
        if outputs:
            signatures["serving_default"] = build(receiver.receiver_tensors, next(iter(outputs.values())).outputs)
        else:
            predictions = spec.predictions if isinstance(spec.predictions, dict) else {"output": spec.predictions}
            signatures["serving_default"] = build(receiver.receiver_tensors, predictions)
    return signatures


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
