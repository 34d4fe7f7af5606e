"""Write small, deterministic data sets for the Chainer examples, without any download.

Usage: python make_data.py --out DIR

Layout (one directory per channel, as `train` expects under input/data/<channel>):

    DIR/mnist/train/train.npz      images float32 (N, 784) in [0, 1], labels int32 (N,)
    DIR/mnist/test/test.npz        from scikit-learn's bundled handwritten digits, 8x8 -> 28x28
    DIR/cifar/train/train.npz      data float32 (N, 3, 32, 32) in [0, 1], labels int32 (N,)
    DIR/cifar/test/test.npz        generated: 10 classes of coloured shapes on noisy backgrounds
    DIR/sentiment/train/train.npz  data object array of int32 token-id sequences ending in <eos>,
    DIR/sentiment/test/test.npz    labels int32 (N, 1); generated sentences with polarity cue words
    DIR/sentiment/vocab/vocab.json word -> id (<eos> = 0, <unk> = 1); vocab.npy holds the same
                                   dict as a 0-d object array (the layout of the public example)
    DIR/sentiment/text/train.txt   the same sentences as text, one "<label> <sentence>" a line (the
    DIR/sentiment/text/test.txt    format of the public stsa.binary files)
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

SEED = 20240601


def save_npz(path: Path, **arrays: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **arrays)


def split(n: int, test_fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    order = rng.permutation(n)
    n_test = int(round(n * test_fraction))
    return order[n_test:], order[:n_test]


# --- MNIST-like: real handwritten digits from scikit-learn, scaled up to 28x28 ---------------


def make_mnist(out: Path, rng: np.random.Generator) -> dict[str, int]:
    from sklearn.datasets import load_digits

    digits = load_digits()
    small = digits.images.astype(np.float32) / 16.0  # (N, 8, 8), values 0..16
    big = np.kron(small, np.ones((1, 3, 3), dtype=np.float32))  # (N, 24, 24), each pixel 3x3
    big = np.pad(big, ((0, 0), (2, 2), (2, 2)))  # centred in 28x28, like MNIST's margin
    images = np.clip(big, 0.0, 1.0).reshape(len(big), 784).astype(np.float32)
    labels = digits.target.astype(np.int32)
    train, test = split(len(labels), 0.2, rng)
    save_npz(out / "mnist" / "train" / "train.npz", images=images[train], labels=labels[train])
    save_npz(out / "mnist" / "test" / "test.npz", images=images[test], labels=labels[test])
    return {"mnist/train": len(train), "mnist/test": len(test)}


# --- CIFAR-like: ten classes of coloured shapes --------------------------------------------

# One base colour per class (RGB); each image jitters it, so colour alone is a strong but
# imperfect cue, and the shape decides the rest.
CLASS_COLOURS = np.array(
    [
        [0.9, 0.2, 0.2],
        [0.2, 0.8, 0.2],
        [0.2, 0.3, 0.9],
        [0.9, 0.9, 0.2],
        [0.8, 0.3, 0.8],
        [0.2, 0.8, 0.8],
        [0.9, 0.6, 0.2],
        [0.6, 0.6, 0.6],
        [0.5, 0.3, 0.1],
        [0.9, 0.9, 0.9],
    ],
    dtype=np.float32,
)


def shape_mask(label: int, rng: np.random.Generator) -> np.ndarray:
    """A (32, 32) mask in [0, 1] of the class's shape at a random position and size."""
    yy, xx = np.mgrid[0:32, 0:32].astype(np.float32)
    cy, cx = rng.uniform(11, 21, size=2)
    r = rng.uniform(6, 10)
    dy, dx = yy - cy, xx - cx
    dist = np.hypot(dy, dx)
    if label == 0:  # disc
        mask = dist < r
    elif label == 1:  # square
        mask = (abs(dy) < r * 0.8) & (abs(dx) < r * 0.8)
    elif label == 2:  # ring
        mask = (dist < r) & (dist > r * 0.55)
    elif label == 3:  # horizontal stripes
        mask = (yy // 3) % 2 == 0
    elif label == 4:  # vertical stripes
        mask = (xx // 3) % 2 == 0
    elif label == 5:  # cross
        mask = ((abs(dy) < 2.5) & (abs(dx) < r)) | ((abs(dx) < 2.5) & (abs(dy) < r))
    elif label == 6:  # triangle pointing up
        mask = (dy < r * 0.7) & (dy > -r) & (abs(dx) < (dy + r) * 0.6)
    elif label == 7:  # checkerboard
        mask = ((yy // 4) + (xx // 4)) % 2 == 0
    elif label == 8:  # diagonal bar
        mask = (abs(dy - dx) < 3.0) & (dist < r * 1.4)
    else:  # two small dots
        offset = r * 0.6
        mask = (np.hypot(dy, dx - offset) < 3.5) | (np.hypot(dy, dx + offset) < 3.5)
    return mask.astype(np.float32)


def make_cifar_split(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    labels = np.arange(n, dtype=np.int32) % 10
    rng.shuffle(labels)
    data = np.empty((n, 3, 32, 32), dtype=np.float32)
    for i, label in enumerate(labels):
        colour = np.clip(CLASS_COLOURS[label] + rng.normal(0, 0.12, size=3), 0, 1).astype(np.float32)
        background = rng.uniform(0.0, 0.5, size=3).astype(np.float32)
        mask = shape_mask(int(label), rng)
        image = background[:, None, None] * (1 - mask) + colour[:, None, None] * mask
        image += rng.normal(0, 0.1, size=image.shape).astype(np.float32)
        data[i] = np.clip(image, 0, 1)
    return data, labels


def make_cifar(out: Path, rng: np.random.Generator, n_train: int = 3000, n_test: int = 600) -> dict[str, int]:
    for name, n in (("train", n_train), ("test", n_test)):
        data, labels = make_cifar_split(n, rng)
        save_npz(out / "cifar" / name / f"{name}.npz", data=data, labels=labels)
    return {"cifar/train": n_train, "cifar/test": n_test}


# --- Sentiment: sentences with positive or negative cue words ------------------------------


def words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


NEUTRAL = words(
    "the a this that movie film story plot acting actors director script scenes ending music cast "
    "characters dialogue was is were felt seemed quite rather very really and but with of in to it its "
    "for on about at as by an overall simply"
)
POSITIVE = words(
    "great wonderful brilliant moving delightful superb charming enjoyable funny beautiful clever "
    "gripping touching excellent fresh"
)
NEGATIVE = words(
    "terrible boring awful dull tedious clumsy bland lifeless predictable weak messy tiresome forgettable "
    "pointless flat"
)
# Words that appear too rarely to make it into the vocabulary: they map to <unk>.
RARE = words("zeppelin quixotic marmalade obelisk walrus kumquat")


def make_sentence(label: int, rng: np.random.Generator) -> list[str]:
    """Neutral filler, 1-3 cue words of the label's polarity, sometimes one of the other and a rare word."""
    own, other = (POSITIVE, NEGATIVE) if label == 1 else (NEGATIVE, POSITIVE)
    tokens = list(rng.choice(NEUTRAL, size=int(rng.integers(4, 15))))
    cues = list(rng.choice(own, size=int(rng.integers(1, 4))))
    if rng.random() < 0.15:
        cues.append(str(rng.choice(other)))
    if rng.random() < 0.1:
        cues.append(str(rng.choice(RARE)))
    for cue in cues:
        tokens.insert(int(rng.integers(0, len(tokens) + 1)), cue)
    return [str(token) for token in tokens]


def make_sentiment(out: Path, rng: np.random.Generator, n_train: int = 2000, n_test: int = 500) -> dict[str, int]:
    vocab = {"<eos>": 0, "<unk>": 1}
    for word in NEUTRAL + POSITIVE + NEGATIVE:
        vocab.setdefault(word, len(vocab))
    for name, n in (("train", n_train), ("test", n_test)):
        labels = rng.integers(0, 2, size=n).astype(np.int32)
        data = np.empty(n, dtype=object)
        lines = []
        for i, label in enumerate(labels):
            sentence = make_sentence(int(label), rng)
            ids = [vocab.get(word, vocab["<unk>"]) for word in sentence]
            data[i] = np.array([*ids, vocab["<eos>"]], dtype=np.int32)
            lines.append(f"{label} {' '.join(sentence)}\n")
        save_npz(out / "sentiment" / name / f"{name}.npz", data=data, labels=labels.reshape(-1, 1))
        # The same sentences as text, in the public stsa.binary files' format: "<label> <sentence>".
        text = out / "sentiment" / "text" / f"{name}.txt"
        text.parent.mkdir(parents=True, exist_ok=True)
        text.write_text("".join(lines))
    vocab_dir = out / "sentiment" / "vocab"
    vocab_dir.mkdir(parents=True, exist_ok=True)
    (vocab_dir / "vocab.json").write_text(json.dumps(vocab, indent=0, sort_keys=True))
    holder = np.empty((), dtype=object)
    holder[()] = vocab
    np.save(vocab_dir / "vocab.npy", holder)
    return {"sentiment/train": n_train, "sentiment/test": n_test, "sentiment/vocab": len(vocab)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="directory to write the data sets into")
    parser.add_argument("--only", choices=("mnist", "cifar", "sentiment"), action="append", help="limit to these")
    args = parser.parse_args(argv)
    makers = {"mnist": make_mnist, "cifar": make_cifar, "sentiment": make_sentiment}
    for index, (name, make) in enumerate(makers.items()):
        if args.only and name not in args.only:
            continue
        # One independent stream per data set, so --only gives the same files as a full run.
        counts = make(args.out, np.random.default_rng([SEED, index]))
        print(", ".join(f"{key}: {value}" for key, value in counts.items()))


if __name__ == "__main__":
    main()
