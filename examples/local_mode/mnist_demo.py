"""The whole local workflow on real handwritten digits: train the Chainer MNIST example, deploy
the model to a local endpoint, classify held-out digits through it and print the accuracy.

No cloud account, no Docker: the job runs under the runtime's `train`, the endpoint under its
`serve`, and everything lands in a temporary home unless `--home` says otherwise.

    python examples/local_mode/mnist_demo.py [--epochs 3] [--samples 200] [--home DIR]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from local_mode import Chainer
from local_mode.endpoints import free_port

EXAMPLES = Path(__file__).resolve().parent.parent


def make_digits(out: Path) -> Path:
    """scikit-learn's bundled digits (1,797 real scans), shaped like MNIST by the example's script."""
    subprocess.run([sys.executable, str(EXAMPLES / "chainer" / "make_data.py"), "--out", str(out), "--only", "mnist"],
                   check=True)
    return out / "mnist"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--samples", type=int, default=200, help="test digits to classify through the endpoint")
    parser.add_argument("--home", type=Path, help="where jobs and endpoints are kept (default: a temporary dir)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="local-mode-demo-") as scratch:
        home = args.home or Path(scratch)
        data = make_digits(Path(scratch) / "data")
        estimator = Chainer(
            "mnist.py",
            source_dir=EXAMPLES / "chainer",
            hyperparameters={"epochs": args.epochs, "batch-size": 64},
            # The public MNIST example's regex: PrintReport rows start with the terminal code ESC[J.
            metric_definitions={"validation-accuracy": r"\[J\d+\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+([\d.]+)"},
            jobs_dir=home / "jobs",
            endpoints_dir=home / "endpoints",
        )
        job = estimator.fit({"train": data / "train", "test": data / "test"})
        final = {point["MetricName"]: point["Value"] for point in job.description["FinalMetricDataList"]}
        print(f"Trained {job.name}: validation accuracy {final.get('validation-accuracy')}, model {job.model_data}")

        test = np.load(data / "test" / "test.npz")
        images, labels = test["images"][: args.samples], test["labels"][: args.samples]
        with estimator.deploy(port=free_port()) as predictor:
            scores = np.asarray(predictor.predict(images))
        predicted = scores.argmax(axis=1)
        accuracy = float((predicted == labels).mean())
        print(f"Endpoint accuracy on {len(labels)} held-out digits: {accuracy:.1%}")
        print("First 20 predicted:", " ".join(str(d) for d in predicted[:20]))
        print("First 20 true:     ", " ".join(str(d) for d in labels[:20]))
    return 0 if accuracy >= 0.8 else 1


if __name__ == "__main__":
    sys.exit(main())
