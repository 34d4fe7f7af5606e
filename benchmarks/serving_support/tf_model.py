"""The batching benchmark's TensorFlow model: a deep, narrow float32 MLP (64 in, 48 hidden layers
of 32, 10 out; ReLU) as a SavedModel.

Deep and narrow on purpose: each layer is a few small ops, and TensorFlow charges a fixed dispatch
cost per op and per call, so a call costs a lot and a row almost nothing, the case adaptive
batching is for. Measured in-process on the 2-core development machine (median of 300 calls,
machine shared with other jobs): about 0.8-1.0 ms for 1 row and 1.0-1.3 ms for 32 rows, so about
0.01 ms per extra row against a fixed cost near 1 ms, which is larger than serve's own HTTP and
JSON work per request. The first model of this benchmark (64-128-128-10) cost 0.45 ms a call,
comparable to that per-request work, so batching could not save much more than the per-request
work it adds. The benchmark measures both costs again in every run and prints them.

Served by the TensorFlow defaults (`SAGEMAKER_SERVING_FRAMEWORK=tensorflow`, no user module)
from `<model>/1/`.

python benchmarks/serving_support/tf_model.py MODEL_DIR     # writes MODEL_DIR/1/saved_model.pb
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

LAYERS = (64, *(32,) * 48, 10)
SEED = 20240611


def save(model_dir: str | Path) -> Path:
    """Write the SavedModel (signature serving_default, input `x`) under `model_dir`/1."""
    import tensorflow as tf

    rng = np.random.default_rng(SEED)
    weights = []
    for fan_in, fan_out in zip(LAYERS[:-1], LAYERS[1:], strict=True):
        weights.append(tf.Variable((rng.standard_normal((fan_in, fan_out)) * np.sqrt(2 / fan_in)).astype(np.float32)))
        weights.append(tf.Variable(np.zeros(fan_out, dtype=np.float32)))

    class MLP(tf.Module):
        def __init__(self) -> None:
            super().__init__()
            self.weights = weights

        @tf.function(input_signature=[tf.TensorSpec([None, LAYERS[0]], tf.float32, name="x")])
        def serve(self, x: tf.Tensor) -> dict[str, tf.Tensor]:
            h = x
            for index in range(0, len(self.weights) - 2, 2):
                h = tf.nn.relu(h @ self.weights[index] + self.weights[index + 1])
            return {"scores": h @ self.weights[-2] + self.weights[-1]}

    module = MLP()
    target = Path(model_dir) / "1"
    tf.saved_model.save(module, str(target), signatures={"serving_default": module.serve})
    return target


def describe() -> str:
    """The layer widths, runs of equal hidden layers shortened: 64-32x48-10."""
    hidden = LAYERS[1:-1]
    middle = f"{hidden[0]}x{len(hidden)}" if len(set(hidden)) == 1 else "-".join(map(str, hidden))
    return f"{LAYERS[0]}-{middle}-{LAYERS[-1]}"


def payload(rows: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((rows, LAYERS[0]), dtype=np.float32)


def call_ms(saved_model: Path, rows: Sequence[int], calls: int = 300) -> list[float]:
    """Median time of one signature call for each of `rows` in this process (the model's own cost).

    The sizes take turns call by call, so drift on a shared machine hits them alike and the
    difference between them (the cost per row) is not swamped by it."""
    import tensorflow as tf

    loaded = tf.saved_model.load(str(saved_model))
    signature = loaded.signatures["serving_default"]
    inputs = [tf.constant(payload(count)) for count in rows]
    for _ in range(20):
        for x in inputs:
            signature(x=x)
    samples: list[list[float]] = [[] for _ in rows]
    for _ in range(calls):
        for x, times in zip(inputs, samples, strict=True):
            started = time.perf_counter()
            signature(x=x)["scores"].numpy()
            times.append(time.perf_counter() - started)
    return [statistics.median(times) * 1000 for times in samples]


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    print(save(sys.argv[1]))
