"""MNIST multi-layer perceptron with a Chainer Trainer, runnable as a SageMaker-style job.

Training: `python mnist.py [--epochs N] [--batch-size N] [--output-dir D] [--model-dir D]
[--train D] [--test D]`; the directories default to `SM_OUTPUT_DIR`, `SM_MODEL_DIR`,
`SM_CHANNEL_TRAIN` and `SM_CHANNEL_TEST`. Reads `train.npz`/`test.npz` (keys `images`:
float32 (N, 784) in [0, 1], `labels`: int32), prints one report row per epoch, writes
`loss.png`, `accuracy.png` and `cg.dot` to the output dir and `model.npz` to the model dir.
The two plots are also copied to `--output-data-dir` (default `SM_OUTPUT_DATA_DIR`), which a
job packs into `output.tar.gz`: the public MNIST notebook's script writes them there and the
notebook shows them from that archive.

Serving: `model_fn(model_dir)` rebuilds the network and loads `model.npz`; the default
input/predict/output functions do the rest (NPY, JSON or CSV rows of 784 floats).
"""

from __future__ import annotations

import argparse
import os
import shutil

import chainer
import chainer.functions as F
import chainer.links as L
import numpy as np


class MLP(chainer.Chain):
    """Two hidden ReLU layers; the input size is inferred, so any (N, ...) of 784 values works."""

    def __init__(self, n_units: int, n_out: int) -> None:
        super().__init__()
        with self.init_scope():
            self.l1 = L.Linear(None, n_units)
            self.l2 = L.Linear(None, n_units)
            self.l3 = L.Linear(None, n_out)

    def forward(self, x: chainer.Variable) -> chainer.Variable:
        h1 = F.relu(self.l1(x))
        h2 = F.relu(self.l2(h1))
        return self.l3(h2)


def build_model() -> L.Classifier:
    return L.Classifier(MLP(1000, 10))


def pick_device() -> int:
    """GPU 0 when the job has GPUs and CuPy works, else the CPU (-1)."""
    return 0 if int(os.environ.get("SM_NUM_GPUS", "0")) > 0 and chainer.backends.cuda.available else -1


def load_dataset(directory: str, name: str) -> chainer.datasets.TupleDataset:
    with np.load(os.path.join(directory, name)) as arrays:
        images = arrays["images"].astype(np.float32)
        labels = arrays["labels"].astype(np.int32)
    return chainer.datasets.TupleDataset(images, labels)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=64)
    # Adam's step size (alpha); an addition to the public example's arguments, for tuning it.
    parser.add_argument("--learning-rate", type=float, default=0.001)
    parser.add_argument("--output-dir", type=str, default=os.environ.get("SM_OUTPUT_DIR"))
    parser.add_argument("--output-data-dir", type=str, default=os.environ.get("SM_OUTPUT_DATA_DIR"))
    parser.add_argument("--model-dir", type=str, default=os.environ.get("SM_MODEL_DIR"))
    parser.add_argument("--train", type=str, default=os.environ.get("SM_CHANNEL_TRAIN"))
    parser.add_argument("--test", type=str, default=os.environ.get("SM_CHANNEL_TEST"))
    args, _ = parser.parse_known_args()
    for name in ("output_dir", "model_dir", "train", "test"):
        if getattr(args, name) is None:
            parser.error(f"--{name.replace('_', '-')} is required outside a training job")
    return args


def train(args: argparse.Namespace) -> None:
    import matplotlib

    matplotlib.use("Agg")  # PlotReport draws PNGs; there is no display
    from chainer import training
    from chainer.training import extensions

    train_data = load_dataset(args.train, "train.npz")
    test_data = load_dataset(args.test, "test.npz")
    device = pick_device()
    print(f"# train: {len(train_data)}, test: {len(test_data)}, device: {device}")

    model = build_model()
    if device >= 0:
        model.to_device(device)
    optimizer = chainer.optimizers.Adam(alpha=args.learning_rate)
    optimizer.setup(model)

    train_iter = chainer.iterators.SerialIterator(train_data, args.batch_size)
    test_iter = chainer.iterators.SerialIterator(test_data, args.batch_size, repeat=False, shuffle=False)
    updater = training.updaters.StandardUpdater(train_iter, optimizer, device=device)
    trainer = training.Trainer(updater, (args.epochs, "epoch"), out=args.output_dir)

    trainer.extend(extensions.Evaluator(test_iter, model, device=device))
    trainer.extend(extensions.dump_graph("main/loss"))
    trainer.extend(extensions.LogReport(log_name=None))
    trainer.extend(extensions.PlotReport(["main/loss", "validation/main/loss"], "epoch", filename="loss.png"))
    trainer.extend(
        extensions.PlotReport(["main/accuracy", "validation/main/accuracy"], "epoch", filename="accuracy.png")
    )
    trainer.extend(
        extensions.PrintReport(
            ["epoch", "main/loss", "validation/main/loss", "main/accuracy", "validation/main/accuracy", "elapsed_time"]
        )
    )
    trainer.run()
    if args.output_data_dir and os.path.abspath(args.output_data_dir) != os.path.abspath(args.output_dir):
        os.makedirs(args.output_data_dir, exist_ok=True)
        for plot in ("loss.png", "accuracy.png"):
            shutil.copy(os.path.join(args.output_dir, plot), args.output_data_dir)

    os.makedirs(args.model_dir, exist_ok=True)
    model.to_device("@numpy")
    chainer.serializers.save_npz(os.path.join(args.model_dir, "model.npz"), model)


def model_fn(model_dir: str) -> chainer.Chain:
    """Load `model.npz` for serving and return the bare network (logits out)."""
    model = build_model()
    chainer.serializers.load_npz(os.path.join(model_dir, "model.npz"), model)
    return model.predictor


if __name__ == "__main__":
    train(parse_args())
