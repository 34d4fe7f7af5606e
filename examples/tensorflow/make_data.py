"""Write the regression data set for the TensorFlow examples, without any download.

Usage: python make_data.py --out DIR

Layout (one directory per channel, as `train` expects under input/data/<channel>):

    DIR/regression/train/x_train.npy   float32 (354, 10)  features, z-scored with train statistics
    DIR/regression/train/y_train.npy   float32 (354,)     target, in its original units
    DIR/regression/test/x_test.npy     float32 (88, 10)
    DIR/regression/test/y_test.npy     float32 (88,)

The rows are scikit-learn's bundled diabetes data set (442 patients: age, sex, body-mass index,
blood pressure and six blood serum measurements; the target is a measure of disease progression
one year later, 25..346), split 80/20 with a fixed seed. The file names are those of the public
Boston-housing script-mode example, whose scripts read `x_train.npy`, `y_train.npy` from the
`train` channel and `x_test.npy`, `y_test.npy` from the `test` channel. The files are identical
on every run.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

SEED = 20240601
TEST_FRACTION = 0.2


def make_regression(out: Path) -> dict[str, tuple[int, ...]]:
    from sklearn.datasets import load_diabetes

    # scaled=False: the raw measurements; we normalise them ourselves, with train statistics only.
    features, target = load_diabetes(return_X_y=True, scaled=False)
    order = np.random.default_rng(SEED).permutation(len(target))
    n_test = int(round(len(target) * TEST_FRACTION))
    test, train = order[:n_test], order[n_test:]

    mean = features[train].mean(axis=0)
    std = features[train].std(axis=0)
    std[std == 0] = 1.0
    scaled = ((features - mean) / std).astype(np.float32)
    target = target.astype(np.float32)

    arrays = {
        "train/x_train.npy": scaled[train],
        "train/y_train.npy": target[train],
        "test/x_test.npy": scaled[test],
        "test/y_test.npy": target[test],
    }
    for name, array in arrays.items():
        path = out / "regression" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, array, allow_pickle=False)
    return {f"regression/{name}": array.shape for name, array in arrays.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="directory to write regression/ into")
    args = parser.parse_args()
    for name, shape in make_regression(args.out).items():
        print(f"{name}: {shape}")


if __name__ == "__main__":
    main()
