"""The whole local workflow on real handwritten digits: train the Chainer MNIST example, tune its
learning rate, deploy the best job's model to a local endpoint, classify held-out digits through
it and print the accuracy.

No cloud account, no Docker: the job runs under the runtime's `train`, the endpoint under its
`serve`, and everything lands in a temporary home unless `--home` says otherwise.

    python examples/local_mode/mnist_demo.py [--epochs 3] [--trials 3] [--samples 200] [--home DIR]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from container_runtime.local import Chainer
from container_runtime.local.endpoints import free_port
from container_runtime.local.tuning.ranges import ContinuousParameter
from container_runtime.local.tuning.tuner import HyperparameterTuner

EXAMPLES = Path(__file__).resolve().parent.parent


def make_digits(out: Path) -> Path:
    """scikit-learn's bundled digits (1,797 real scans), shaped like MNIST by the example's script."""
    subprocess.run([sys.executable, str(EXAMPLES / "chainer" / "make_data.py"), "--out", str(out), "--only", "mnist"],
                   check=True)
    return out / "mnist"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--trials", type=int, default=3, help="tuning jobs for the learning rate (0: no tuning)")
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

        deployable: Any = estimator
        if args.trials > 0:
            tuner = HyperparameterTuner(
                estimator, "validation-accuracy", {"learning-rate": ContinuousParameter(0.0002, 0.01, "Logarithmic")},
                strategy="Random", max_jobs=args.trials, max_parallel_jobs=args.trials, random_seed=0,
            )
            tuning = tuner.fit({"train": data / "train", "test": data / "test"})
            print(f"Tuned the learning rate over {args.trials} jobs: best {tuning.best_training_job}")
            print(tuner.analytics()[["learning-rate", "TrainingJobName", "FinalObjectiveValue"]].to_string(index=False))
            deployable = tuner

        test = np.load(data / "test" / "test.npz")
        images, labels = test["images"][: args.samples], test["labels"][: args.samples]
        with deployable.deploy(port=free_port()) as predictor:
            scores = np.asarray(predictor.predict(images))
        predicted = scores.argmax(axis=1)
        accuracy = float((predicted == labels).mean())
        print(f"Endpoint accuracy on {len(labels)} held-out digits: {accuracy:.1%}")
        print("First 20 predicted:", " ".join(str(d) for d in predicted[:20]))
        print("First 20 true:     ", " ".join(str(d) for d in labels[:20]))
    return 0 if accuracy >= 0.8 else 1


if __name__ == "__main__":
    sys.exit(main())
