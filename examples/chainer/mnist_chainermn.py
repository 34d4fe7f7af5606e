"""Data-parallel MNIST MLP with ChainerMN: one MPI process per worker (CPU core or GPU).

Run under MPI, e.g. `mpirun -np 2 python -m mpi4py mnist_chainermn.py [--epochs N]
[--batch-size N] [--communicator NAME] [--output-dir D] [--model-dir D] [--train D] [--test D]`
(`-m mpi4py` makes an exception in any rank abort the whole job instead of hanging it).
The communicator defaults to `pure_nccl` when the job has GPUs and `naive` on CPUs; with
GPUs each process uses the GPU numbered by its rank on its host (`comm.intra_rank`).

Rank 0 reads `train.npz`/`test.npz` (as mnist.py) and scatters them; gradients are averaged
across ranks every step and evaluation accuracy across ranks every epoch. Only rank 0 prints
the report, writes `loss.png`, `accuracy.png` and `cg.dot` to the output dir and saves
`model.npz` to the model dir, so `model_fn` is the same as mnist.py's.
"""

from __future__ import annotations

import argparse
import os

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
        return self.l3(F.relu(self.l2(F.relu(self.l1(x)))))


def build_model() -> L.Classifier:
    return L.Classifier(MLP(1000, 10))


def has_gpus() -> bool:
    return int(os.environ.get("SM_NUM_GPUS", "0")) > 0 and chainer.backends.cuda.available


def load_dataset(directory: str, name: str) -> chainer.datasets.TupleDataset:
    with np.load(os.path.join(directory, name)) as arrays:
        images = arrays["images"].astype(np.float32)
        labels = arrays["labels"].astype(np.int32)
    return chainer.datasets.TupleDataset(images, labels)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--communicator", type=str, default="pure_nccl" if has_gpus() else "naive")
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
    import chainermn
    import matplotlib

    matplotlib.use("Agg")  # PlotReport draws PNGs; there is no display
    from chainer import training
    from chainer.training import extensions

    comm = chainermn.create_communicator(args.communicator)
    device = comm.intra_rank if has_gpus() else -1
    leader = comm.rank == 0
    if leader:
        print(f"# MPI processes: {comm.size}, communicator: {args.communicator}, device of rank 0: {device}")
        print(f"# Minibatch-size (per process): {args.batch_size}")
        print(f"# epoch: {args.epochs}")

    model = build_model()
    if device >= 0:
        chainer.backends.cuda.get_device_from_id(device).use()
        model.to_device(device)
    optimizer = chainermn.create_multi_node_optimizer(chainer.optimizers.Adam(), comm)
    optimizer.setup(model)

    # Rank 0 reads the files; every rank gets an equal, shuffled share.
    train_data = load_dataset(args.train, "train.npz") if leader else None
    test_data = load_dataset(args.test, "test.npz") if leader else None
    train_data = chainermn.scatter_dataset(train_data, comm, shuffle=True)
    test_data = chainermn.scatter_dataset(test_data, comm, shuffle=True)

    train_iter = chainer.iterators.SerialIterator(train_data, args.batch_size)
    test_iter = chainer.iterators.SerialIterator(test_data, args.batch_size, repeat=False, shuffle=False)
    updater = training.updaters.StandardUpdater(train_iter, optimizer, device=device)
    trainer = training.Trainer(updater, (args.epochs, "epoch"), out=args.output_dir)

    evaluator = extensions.Evaluator(test_iter, model, device=device)
    trainer.extend(chainermn.create_multi_node_evaluator(evaluator, comm))
    if leader:
        trainer.extend(extensions.dump_graph("main/loss"))
        trainer.extend(extensions.LogReport(log_name=None))
        trainer.extend(extensions.PlotReport(["main/loss", "validation/main/loss"], "epoch", filename="loss.png"))
        trainer.extend(
            extensions.PlotReport(["main/accuracy", "validation/main/accuracy"], "epoch", filename="accuracy.png")
        )
        trainer.extend(
            extensions.PrintReport(
                [
                    "epoch",
                    "main/loss",
                    "validation/main/loss",
                    "main/accuracy",
                    "validation/main/accuracy",
                    "elapsed_time",
                ]
            )
        )
    trainer.run()

    if leader:
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
