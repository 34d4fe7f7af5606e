"""Writes the legacy MNIST example's `training` channel: TFRecords of real handwritten digits.

scikit-learn's bundled digits (8x8, 0-16) are scaled up to 28x28 uint8 images and written as
tf.train.Examples with the features the public example reads: height, width, depth, label
(int64) and image_raw (bytes). Usage: python make_tfrecords.py --out DIR
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def digits_28x28() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = np.kron(digits.images, np.ones((3, 3)))  # 24 x 24
    images = np.pad(images, ((0, 0), (2, 2), (2, 2)))  # 28 x 28
    images = np.clip(images * (255.0 / 16.0), 0, 255).astype(np.uint8)
    return images, digits.target.astype(np.int64)


def write(path: Path, images: np.ndarray, labels: np.ndarray) -> None:
    import tensorflow as tf

    def int64(value: int) -> tf.train.Feature:
        return tf.train.Feature(int64_list=tf.train.Int64List(value=[value]))

    with tf.io.TFRecordWriter(str(path)) as writer:
        for image, label in zip(images, labels, strict=True):
            features = {
                "height": int64(28),
                "width": int64(28),
                "depth": int64(1),
                "label": int64(int(label)),
                "image_raw": tf.train.Feature(bytes_list=tf.train.BytesList(value=[image.tobytes()])),
            }
            writer.write(tf.train.Example(features=tf.train.Features(feature=features)).SerializeToString())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, required=True, help="the channel dir to write (e.g. .../training)")
    args = parser.parse_args()
    images, labels = digits_28x28()
    order = np.random.default_rng(0).permutation(len(labels))
    images, labels = images[order], labels[order]
    split = int(len(labels) * 0.8)
    args.out.mkdir(parents=True, exist_ok=True)
    write(args.out / "train.tfrecords", images[:split], labels[:split])
    write(args.out / "test.tfrecords", images[split:], labels[split:])
    print(f"wrote {split} training and {len(labels) - split} test examples to {args.out}")


if __name__ == "__main__":
    main()
