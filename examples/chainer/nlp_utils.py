"""Text helpers for sentiment_analysis.py: tokenising, vocabularies, data files, batching."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

import chainer
import numpy as np

EOS = "<eos>"
UNK = "<unk>"


def normalize_text(text: str) -> str:
    return text.strip().lower()


def split_text(text: str) -> list[str]:
    return text.split()


def transform_to_array(words: Sequence[str], vocab: Mapping[str, int], with_eos: bool = True) -> np.ndarray:
    """Token ids (int32) of `words`, unknown words as <unk>, ending with <eos> if asked."""
    unk = vocab[UNK]
    ids = [vocab.get(word, unk) for word in words]
    if with_eos:
        ids.append(vocab[EOS])
    return np.array(ids, dtype=np.int32)


def load_vocab(directory: str) -> dict[str, int]:
    """`vocab.json` from `directory`, else `vocab.npy` (a pickled dict, as the public data ships it)."""
    json_path = os.path.join(directory, "vocab.json")
    if os.path.exists(json_path):
        with open(json_path) as file:
            loaded: Any = json.load(file)
    else:
        loaded = np.load(os.path.join(directory, "vocab.npy"), allow_pickle=True).item()
    vocab = {str(word): int(index) for word, index in loaded.items()}
    for token in (EOS, UNK):
        if token not in vocab:
            raise ValueError(f"vocabulary in {directory} has no {token} entry")
    return vocab


def load_dataset(path: str) -> list[tuple[np.ndarray, np.ndarray]]:
    """(token ids, label) pairs from an .npz with an object array `data` and `labels` (N, 1).

    The object array needs pickle; these files are the job's own input data.
    """
    with np.load(path, allow_pickle=True) as arrays:
        data, labels = arrays["data"], arrays["labels"]
    labels = np.asarray(labels, dtype=np.int32).reshape(len(labels), -1)
    return [(np.asarray(x, dtype=np.int32), y) for x, y in zip(data, labels, strict=True)]


@chainer.dataset.converter()
def convert_seq(batch: Sequence[tuple[np.ndarray, np.ndarray]], device: Any = None) -> dict[str, Any]:
    """Batch (ids, label) pairs as `xs`: a list of id arrays and `ys`: (batch,) labels, on `device`."""

    def to_device(x: np.ndarray) -> Any:
        return chainer.dataset.to_device(device, x)

    return {
        "xs": [to_device(x) for x, _ in batch],
        "ys": to_device(np.concatenate([y for _, y in batch]).astype(np.int32)),
    }
