"""Sentence sentiment classification (RNN, CNN or bag of words) with a Chainer Trainer.

Training: `python sentiment_analysis.py [--model-type rnn|cnn|bow] [--epochs N]
[--batch-size N] [--dropout X] [--num-layers N] [--num-units N] [--output-dir D]
[--model-dir D] [--train D] [--test D] [--vocab D]`; the directories default to
`SM_OUTPUT_DIR`, `SM_MODEL_DIR`, `SM_CHANNEL_TRAIN`, `SM_CHANNEL_TEST` and `SM_CHANNEL_VOCAB`.
Inputs: `train.npz`/`test.npz` (`data`: object array of int32 token-id sequences ending in
<eos>, `labels`: int32 (N, 1)) and `vocab.json` (or `vocab.npy`) mapping word -> id. Writes
`log`, `loss.png` and `accuracy.png` to `<output-dir>/data`, and the best epoch's model as
`my_model.npz` with `vocab.json` and `args.json` to the model dir.

Serving: send a unicode array of sentences as `application/x-npy`; the answer is an
`application/x-npy` unicode array with one row `[sentence, label, score]` per sentence.
"""

from __future__ import annotations

import argparse
import io
import json
import os
from typing import Any

import chainer
import nets
import nlp_utils
import numpy as np

NPY = "application/x-npy"


def pick_device() -> int:
    """GPU 0 when the job has GPUs and CuPy works, else the CPU (-1)."""
    return 0 if int(os.environ.get("SM_NUM_GPUS", "0")) > 0 and chainer.backends.cuda.available else -1


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--dropout", type=float, default=0.4)
    parser.add_argument("--num-layers", type=int, default=1)
    parser.add_argument("--num-units", type=int, default=300)
    parser.add_argument("--model-type", choices=sorted(nets.ENCODERS), default="rnn")
    parser.add_argument("--output-dir", type=str, default=os.environ.get("SM_OUTPUT_DIR"))
    parser.add_argument("--model-dir", type=str, default=os.environ.get("SM_MODEL_DIR"))
    parser.add_argument("--train", type=str, default=os.environ.get("SM_CHANNEL_TRAIN"))
    parser.add_argument("--test", type=str, default=os.environ.get("SM_CHANNEL_TEST"))
    parser.add_argument("--vocab", type=str, default=os.environ.get("SM_CHANNEL_VOCAB"))
    args, _ = parser.parse_known_args()
    for name in ("output_dir", "model_dir", "train", "test", "vocab"):
        if getattr(args, name) is None:
            parser.error(f"--{name.replace('_', '-')} is required outside a training job")
    return args


def train(args: argparse.Namespace) -> None:
    import matplotlib

    matplotlib.use("Agg")  # PlotReport draws PNGs; there is no display
    from chainer import training
    from chainer.training import extensions

    vocab = nlp_utils.load_vocab(args.vocab)
    train_data = nlp_utils.load_dataset(os.path.join(args.train, "train.npz"))
    test_data = nlp_utils.load_dataset(os.path.join(args.test, "test.npz"))
    n_class = max(int(y[0]) for _, y in train_data) + 1
    print(f"# train data: {len(train_data)}")
    print(f"# test  data: {len(test_data)}")
    print(f"# vocab: {len(vocab)}")
    print(f"# class: {n_class}")
    print(f"# Minibatch-size: {args.batch_size}")
    print(f"# epoch: {args.epochs}")
    print(f"# Dropout: {args.dropout}")
    print(f"# Layers: {args.num_layers}")
    print(f"# Units: {args.num_units}")
    print(f"# Model: {args.model_type}")

    device = pick_device()
    model = nets.build(args.model_type, len(vocab), n_class, args.num_layers, args.num_units, args.dropout)
    if device >= 0:
        model.to_device(device)
    optimizer = chainer.optimizers.Adam()
    optimizer.setup(model)
    optimizer.add_hook(chainer.optimizer_hooks.WeightDecay(1e-4))

    train_iter = chainer.iterators.SerialIterator(train_data, args.batch_size)
    test_iter = chainer.iterators.SerialIterator(test_data, args.batch_size, repeat=False, shuffle=False)
    updater = training.updaters.StandardUpdater(train_iter, optimizer, converter=nlp_utils.convert_seq, device=device)
    out = os.path.join(args.output_dir, "data")
    trainer = training.Trainer(updater, (args.epochs, "epoch"), out=out)

    trainer.extend(extensions.Evaluator(test_iter, model, converter=nlp_utils.convert_seq, device=device))
    best = "best_model.npz"
    trainer.extend(
        extensions.snapshot_object(model, best),
        trigger=chainer.training.triggers.MaxValueTrigger("validation/main/accuracy"),
    )
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

    # Keep the epoch with the best validation accuracy, not merely the last one.
    best_path = os.path.join(out, best)
    model.to_device("@numpy")
    chainer.serializers.load_npz(best_path, model)
    os.remove(best_path)

    os.makedirs(args.model_dir, exist_ok=True)
    chainer.serializers.save_npz(os.path.join(args.model_dir, "my_model.npz"), model)
    with open(os.path.join(args.model_dir, "vocab.json"), "w") as file:
        json.dump(vocab, file)
    settings = {
        "num_classes": n_class,
        "model_type": args.model_type,
        "num_layers": args.num_layers,
        "num_units": args.num_units,
        "dropout": args.dropout,
    }
    with open(os.path.join(args.model_dir, "args.json"), "w") as file:
        json.dump(settings, file)


# --- Serving -------------------------------------------------------------------------------


def model_fn(model_dir: str) -> tuple[nets.TextClassifier, dict[str, int]]:
    """The trained classifier and its vocabulary, from `my_model.npz`, `args.json`, `vocab.json`."""
    with open(os.path.join(model_dir, "args.json")) as file:
        settings = json.load(file)
    vocab = nlp_utils.load_vocab(model_dir)
    model = nets.build(
        settings["model_type"],
        len(vocab),
        settings["num_classes"],
        settings["num_layers"],
        settings["num_units"],
        settings["dropout"],
    )
    chainer.serializers.load_npz(os.path.join(model_dir, "my_model.npz"), model)
    return model, vocab


def input_fn(input_data: Any, content_type: str) -> np.ndarray:
    """Sentences from an NPY body holding a unicode array (no pickled objects accepted)."""
    if content_type != NPY:
        raise ValueError(f"unsupported content type {content_type!r}: send {NPY}")
    stream = input_data if hasattr(input_data, "read") else io.BytesIO(bytes(input_data))
    sentences = np.load(stream, allow_pickle=False)
    if sentences.dtype.kind not in "US":
        raise ValueError(f"expected an array of strings, got dtype {sentences.dtype}")
    return sentences


def predict_fn(input_data: np.ndarray, model: tuple[nets.TextClassifier, dict[str, int]]) -> np.ndarray:
    """One row `[sentence, label, score]` (all strings) per input sentence."""
    classifier, vocab = model
    sentences = [str(s.decode() if isinstance(s, bytes) else s) for s in np.atleast_1d(input_data).ravel()]
    if not sentences:
        return np.empty((0, 3), dtype=str)
    words = [nlp_utils.split_text(nlp_utils.normalize_text(sentence)) for sentence in sentences]
    xs = [classifier.xp.asarray(nlp_utils.transform_to_array(w, vocab)) for w in words]
    probabilities = chainer.backends.cuda.to_cpu(classifier.predict(xs, softmax=True))
    labels = probabilities.argmax(axis=1)
    rows = [
        [" ".join(w), str(int(label)), str(float(p[label]))]
        for w, label, p in zip(words, labels, probabilities, strict=True)
    ]
    return np.array(rows, dtype=str)


def output_fn(prediction: np.ndarray, accept: str) -> tuple[bytes, str]:
    """The prediction as NPY bytes (a unicode array, readable with allow_pickle=False)."""
    if accept not in (NPY, "*/*", "", None):
        raise ValueError(f"unsupported accept type {accept!r}: ask for {NPY}")
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(prediction, dtype=str), allow_pickle=False)
    return buffer.getvalue(), NPY


if __name__ == "__main__":
    train(parse_args())
