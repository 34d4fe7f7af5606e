"""CIFAR-10-style image classification with a small VGG (net.py) on a Chainer Trainer.

Training: `python cifar_vgg.py [--epochs N] [--batch-size N] [--learning-rate X]
[--output-dir D] [--model-dir D] [--train D] [--test D]`; the directories default to
`SM_OUTPUT_DIR`, `SM_MODEL_DIR`, `SM_CHANNEL_TRAIN` and `SM_CHANNEL_TEST`. Reads
`train.npz`/`test.npz` (keys `data`: float32 (N, 3, 32, 32), `labels`: int32). Writes `log`,
`loss.png`, `accuracy.png` and `cg.dot` to `<output-dir>/data` (packed as output.tar.gz) and
`model.npz` to the model dir. One report row per epoch, in the format a tuning job's regex
`\\[J1\\s+\\d\\.\\d+\\s+\\d\\.\\d+\\s+\\d\\.\\d+\\s+(\\d\\.\\d+)` reads validation accuracy from.

Serving: `model_fn(model_dir)` returns the network in inference mode; send float32
(N, 3, 32, 32) arrays and take `argmax` of each row of the result.
"""

from __future__ import annotations

import argparse
import os

import chainer
import chainer.links as L
import net
import numpy as np


def build_model() -> L.Classifier:
    return L.Classifier(net.VGG(10))


def pick_device() -> int:
    """GPU 0 when the job has GPUs and CuPy works, else the CPU (-1)."""
    return 0 if int(os.environ.get("SM_NUM_GPUS", "0")) > 0 and chainer.backends.cuda.available else -1


def load_dataset(directory: str, name: str) -> chainer.datasets.TupleDataset:
    with np.load(os.path.join(directory, name)) as arrays:
        data = arrays["data"].astype(np.float32)
        labels = arrays["labels"].astype(np.int32).reshape(-1)
    return chainer.datasets.TupleDataset(data, labels)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=0.05)
    parser.add_argument("--output-dir", type=str, default=os.environ.get("SM_OUTPUT_DIR"))
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

    print(f"# Minibatch-size: {args.batch_size}")
    print(f"# epoch: {args.epochs}")
    print(f"# learning rate: {args.learning_rate}")

    train_data = load_dataset(args.train, "train.npz")
    test_data = load_dataset(args.test, "test.npz")
    device = pick_device()

    model = build_model()
    if device >= 0:
        model.to_device(device)
    optimizer = chainer.optimizers.MomentumSGD(args.learning_rate)
    optimizer.setup(model)
    optimizer.add_hook(chainer.optimizer_hooks.WeightDecay(5e-4))

    train_iter = chainer.iterators.SerialIterator(train_data, args.batch_size)
    test_iter = chainer.iterators.SerialIterator(test_data, args.batch_size, repeat=False, shuffle=False)
    updater = training.updaters.StandardUpdater(train_iter, optimizer, device=device)
    out = os.path.join(args.output_dir, "data")
    trainer = training.Trainer(updater, (args.epochs, "epoch"), out=out)

    trainer.extend(extensions.Evaluator(test_iter, model, device=device))
    trainer.extend(extensions.ExponentialShift("lr", 0.5), trigger=(25, "epoch"))
    trainer.extend(extensions.dump_graph("main/loss"))
    trainer.extend(extensions.LogReport())
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

    os.makedirs(args.model_dir, exist_ok=True)
    model.to_device("@numpy")
    chainer.serializers.save_npz(os.path.join(args.model_dir, "model.npz"), model)


def model_fn(model_dir: str) -> chainer.Chain:
    """Load `model.npz` for serving; batch norm and dropout run in inference mode."""
    chainer.global_config.train = False
    model = build_model()
    chainer.serializers.load_npz(os.path.join(model_dir, "model.npz"), model)
    return model.predictor


if __name__ == "__main__":
    train(parse_args())
