"""Quick-start training script: logistic regression in plain Python, SageMaker style.

Reads `train.csv`/`test.csv` from the `train` and `test` channels, takes `--epochs` and
`--learning-rate` on the command line (as `train` renders hyperparameters), prints one metrics
line per epoch, saves `model.json` in `SM_MODEL_DIR`, and on SIGTERM writes a checkpoint to
`SM_CHECKPOINT_DIR` before exiting.
"""

import argparse
import csv
import json
import math
import os
import signal
import sys
import time


def load(path):
    with open(path, newline="") as file:
        rows = list(csv.DictReader(file))
    features = [[float(row[name]) for name in row if name != "label"] for row in rows]
    labels = [int(row["label"]) for row in rows]
    return features, labels


def predict(weights, bias, x):
    z = bias + sum(w * v for w, v in zip(weights, x))
    return 1.0 / (1.0 + math.exp(-z))


def evaluate(weights, bias, features, labels):
    loss, correct = 0.0, 0
    for x, y in zip(features, labels):
        p = min(max(predict(weights, bias, x), 1e-12), 1 - 1e-12)
        loss -= y * math.log(p) + (1 - y) * math.log(1 - p)
        correct += int((p >= 0.5) == bool(y))
    return loss / len(labels), correct / len(labels)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--learning-rate", type=float, default=0.1)
    parser.add_argument("--epoch-seconds", type=float, default=0.0, help="sleep per epoch (demo of stopping)")
    parser.add_argument("--model-dir", default=os.environ.get("SM_MODEL_DIR", "model"))
    parser.add_argument("--train", default=os.environ.get("SM_CHANNEL_TRAIN", "data"))
    parser.add_argument("--test", default=os.environ.get("SM_CHANNEL_TEST", "data"))
    args = parser.parse_args()

    features, labels = load(os.path.join(args.train, "train.csv"))
    test_features, test_labels = load(os.path.join(args.test, "test.csv"))
    weights, bias = [0.0] * len(features[0]), 0.0
    state = {"epoch": 0}

    def checkpoint_and_exit(signum, frame):
        directory = os.environ.get("SM_CHECKPOINT_DIR", "checkpoints")
        os.makedirs(directory, exist_ok=True)
        with open(os.path.join(directory, "checkpoint.json"), "w") as file:
            json.dump({"epoch": state["epoch"], "weights": weights, "bias": bias}, file)
        print(f"stopped at epoch {state['epoch']}: checkpoint written", flush=True)
        sys.exit(0)

    signal.signal(signal.SIGTERM, checkpoint_and_exit)
    for epoch in range(1, args.epochs + 1):
        for x, y in zip(features, labels):
            error = predict(weights, bias, x) - y
            weights = [w - args.learning_rate * error * v for w, v in zip(weights, x)]
            bias -= args.learning_rate * error
        state["epoch"] = epoch
        loss, accuracy = evaluate(weights, bias, test_features, test_labels)
        print(f"epoch={epoch} validation:loss={loss:.4f} validation:accuracy={accuracy:.4f}", flush=True)
        time.sleep(args.epoch_seconds)

    os.makedirs(args.model_dir, exist_ok=True)
    with open(os.path.join(args.model_dir, "model.json"), "w") as file:
        json.dump({"weights": weights, "bias": bias}, file)


if __name__ == "__main__":
    main()
