"""Keras regression on the diabetes data, runnable unchanged as a SageMaker-style TensorFlow job.

Training: `python train.py [--epochs N] [--batch_size N] [--learning_rate X] [--model_dir D]
[--sm-model-dir D] [--train D] [--test D]`. The flags are those of the public Boston-housing
script-mode example (defaults 1 epoch, batch 64, learning rate 0.1); `--train`, `--test` and
`--sm-model-dir` default to `SM_CHANNEL_TRAIN`, `SM_CHANNEL_TEST` and `SM_MODEL_DIR`, and unknown
arguments (e.g. those the SageMaker SDK adds) are ignored.

Reads `x_train.npy`, `y_train.npy` from the train channel and `x_test.npy`, `y_test.npy` from the
test channel (float32 (N, F) features and (N,) targets; see make_data.py). Prints one line per
epoch, `<steps>/<steps> - <s>s - <t>/step - loss: <v> - val_loss: <v>`, which the public tuning
regexes ` loss: ([0-9\\.]+)` and ` val_loss: ([0-9\\.]+)` read, then `Test MSE : <v>`.

Writes:
* a SavedModel with a `serving_default` signature to `<sm-model-dir>/1/`, the numbered version
  directory TensorFlow Serving loads (`SM_MODEL_DIR` is what becomes model.tar.gz);
* TensorFlow checkpoints (`checkpoint`, `model.ckpt-<epoch>.index`, `.data-*`) to `--model_dir`,
  the checkpoint location the SageMaker SDK always passes. It is usually `s3://...`, which needs
  TensorFlow's S3 file system (not part of TensorFlow 2.x itself); such a location is skipped with
  a message, a local path is written.
"""

from __future__ import annotations

import argparse
import os
import shutil

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from model_def import compile_model, get_model  # noqa: E402

#: TensorFlow Serving loads the highest all-digit subdirectory of a model's base path.
SERVING_VERSION = "1"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Keras regression (diabetes data)")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch_size", "--batch-size", dest="batch_size", type=int, default=64)
    parser.add_argument("--learning_rate", "--learning-rate", dest="learning_rate", type=float, default=0.1)
    # Checkpoints. The SageMaker SDK passes --model_dir (often s3://...) to every TensorFlow job.
    parser.add_argument("--model_dir", type=str, default=os.environ.get("SM_MODEL_DIR"))
    # The servable model: what SageMaker packs into model.tar.gz.
    parser.add_argument(
        "--sm-model-dir", "--sm_model_dir", dest="sm_model_dir", type=str, default=os.environ.get("SM_MODEL_DIR")
    )
    parser.add_argument("--train", type=str, default=os.environ.get("SM_CHANNEL_TRAIN"))
    parser.add_argument("--test", type=str, default=os.environ.get("SM_CHANNEL_TEST"))
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        print(f"ignoring unknown arguments: {' '.join(unknown)}")
    for name, hint in (
        ("train", "--train or SM_CHANNEL_TRAIN"),
        ("test", "--test or SM_CHANNEL_TEST"),
        ("sm_model_dir", "--sm-model-dir or SM_MODEL_DIR"),
    ):
        if not getattr(args, name):
            parser.error(f"no {name.replace('_', ' ')} directory: give {hint}")
    return args


def load_split(directory: str, split: str) -> tuple[np.ndarray, np.ndarray]:
    x = np.load(os.path.join(directory, f"x_{split}.npy")).astype(np.float32)
    y = np.load(os.path.join(directory, f"y_{split}.npy")).astype(np.float32)
    print(f"x {split} {x.shape} y {split} {y.shape}")
    return x, y


def is_local(path: str | None) -> bool:
    return bool(path) and "://" not in str(path)


class EpochCheckpoint(keras.callbacks.Callback):
    """Save model and optimizer state as a TensorFlow checkpoint numbered by epoch."""

    def __init__(self, directory: str, model: keras.Model) -> None:
        super().__init__()
        checkpoint = tf.train.Checkpoint(model=model, optimizer=model.optimizer)
        self.manager = tf.train.CheckpointManager(checkpoint, directory, max_to_keep=2, checkpoint_name="model.ckpt")

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        self.manager.save(checkpoint_number=epoch + 1)


def checkpoint_callbacks(model_dir: str | None, model: keras.Model) -> list[keras.callbacks.Callback]:
    if not model_dir:
        return []
    if not is_local(model_dir):
        print(f"not writing checkpoints to {model_dir}: only local paths are supported")
        return []
    return [EpochCheckpoint(model_dir, model)]


def export_servable(model: keras.Model, base_dir: str) -> str:
    """Write the SavedModel to <base_dir>/1, replacing one left by an earlier run."""
    path = os.path.join(base_dir, SERVING_VERSION)
    if os.path.exists(path):
        shutil.rmtree(path)
    model.export(path, verbose=False)
    print(f"SavedModel written to {path}")
    return path


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    keras.utils.set_random_seed(0)

    x_train, y_train = load_split(args.train, "train")
    x_test, y_test = load_split(args.test, "test")
    print(f"batch_size = {args.batch_size}, epochs = {args.epochs}, learning rate = {args.learning_rate}")

    model = compile_model(get_model(x_train.shape[1]), args.learning_rate)
    # verbose=2: one plain line per epoch. verbose=1 redraws a progress bar with \b, \r and ANSI
    # colours even when stdout is a pipe, and shows partial-epoch losses the regexes would pick up.
    model.fit(
        x_train,
        y_train,
        batch_size=args.batch_size,
        epochs=args.epochs,
        validation_data=(x_test, y_test),
        callbacks=checkpoint_callbacks(args.model_dir, model),
        verbose=2,
    )

    # verbose=0: the last ` loss:` in the log stays the last training epoch's.
    mse = model.evaluate(x_test, y_test, batch_size=args.batch_size, verbose=0)
    print(f"Test MSE : {mse}")
    export_servable(model, args.sm_model_dir)


if __name__ == "__main__":
    main()
