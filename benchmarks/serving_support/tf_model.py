"""The batching benchmark's TensorFlow model: a 64-128-128-10 float32 MLP as a SavedModel.

Small on purpose: a call costs TensorFlow's fixed dispatch time (hundreds of microseconds) and
almost nothing per row, the case adaptive batching is for. Served by the TensorFlow defaults
(`SAGEMAKER_SERVING_FRAMEWORK=tensorflow`, no user module) from `<model>/1/`.

python benchmarks/serving_support/tf_model.py MODEL_DIR     # writes MODEL_DIR/1/saved_model.pb
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np

LAYERS = (64, 128, 128, 10)
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


def payload(rows: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((rows, LAYERS[0]), dtype=np.float32)


def call_ms(saved_model: Path, rows: int, calls: int = 300) -> float:
    """Median time of one signature call on `rows` rows in this process (the model's own cost)."""
    import tensorflow as tf

    loaded = tf.saved_model.load(str(saved_model))
    signature = loaded.signatures["serving_default"]
    x = tf.constant(payload(rows))
    for _ in range(20):
        signature(x=x)
    samples = []
    for _ in range(calls):
        started = time.perf_counter()
        signature(x=x)["scores"].numpy()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    print(save(sys.argv[1]))
