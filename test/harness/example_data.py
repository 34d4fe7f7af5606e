"""Running an example's data script (`make_data.py --out DIR`) once for a test session."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def make_example_data(script: Path, out: Path, *options: str) -> Path:
    """Run `script --out out [options]` with this interpreter; fails the test with its output if it fails."""
    result = subprocess.run(
        [sys.executable, str(script), "--out", str(out), *options], capture_output=True, text=True, timeout=180,
        check=False,
    )
    if result.returncode != 0:
        raise AssertionError(f"{script.name} failed:\n{result.stdout}\n{result.stderr}")
    return out


def mean_predictor_mse(regression_dir: Path) -> float:
    """The test MSE of always predicting the training mean: what a useless regression model scores."""
    import numpy as np

    y_train = np.load(regression_dir / "train" / "y_train.npy")
    y_test = np.load(regression_dir / "test" / "y_test.npy")
    return float(np.mean((y_test - y_train.mean()) ** 2))
