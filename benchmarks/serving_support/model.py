"""The benchmark model: a 784-1000-1000-10 MLP in numpy float32, He-initialised with a fixed seed.

python benchmarks/serving_support/model.py MODEL_DIR     # writes MODEL_DIR/model.npz
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

LAYERS = (784, 1000, 1000, 10)
SEED = 20240611


def make_weights(seed: int = SEED) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    weights = {}
    for index, (fan_in, fan_out) in enumerate(zip(LAYERS[:-1], LAYERS[1:], strict=True), start=1):
        scale = np.sqrt(2.0 / fan_in)
        weights[f"W{index}"] = (rng.standard_normal((fan_in, fan_out)) * scale).astype(np.float32)
        weights[f"b{index}"] = np.zeros(fan_out, dtype=np.float32)
    return weights


def save(model_dir: str | Path, seed: int = SEED) -> Path:
    path = Path(model_dir) / "model.npz"
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **make_weights(seed))
    return path


def payload(rows: int, seed: int = 0) -> np.ndarray:
    """A request body's array: `rows` float32 inputs of width 784."""
    return np.random.default_rng(seed).random((rows, LAYERS[0]), dtype=np.float32)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    print(save(sys.argv[1]))
