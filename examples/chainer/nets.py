"""Text classification networks for sentiment_analysis.py.

An encoder turns a batch of variable-length token-id sequences into one vector per
sequence; `TextClassifier` puts a linear layer on top and reports loss and accuracy.
Padding uses the id -1, which `EmbedID(ignore_label=-1)` maps to a zero vector.
"""

from __future__ import annotations

from collections.abc import Sequence

import chainer
import chainer.functions as F
import chainer.links as L
import numpy as np

PAD = -1


def embed_padded(embed: L.EmbedID, xs: Sequence[chainer.types.NdArray]) -> chainer.Variable:
    """Embed sequences padded with PAD to the longest: (batch, length, units)."""
    padded = F.pad_sequence(list(xs), padding=PAD)
    return embed(padded)


def lengths_of(xs: Sequence[chainer.types.NdArray]) -> chainer.types.NdArray:
    xp = chainer.backend.get_array_module(xs[0])
    return xp.array([len(x) for x in xs], dtype=np.float32)


class RNNEncoder(chainer.Chain):
    """Embedding, then a stacked LSTM; the encoding is the last layer's final hidden state."""

    def __init__(self, n_layers: int, n_vocab: int, n_units: int, dropout: float = 0.1) -> None:
        super().__init__()
        with self.init_scope():
            self.embed = L.EmbedID(n_vocab, n_units, ignore_label=PAD)
            self.encoder = L.NStepLSTM(n_layers, n_units, n_units, dropout)
        self.out_units = n_units
        self.dropout = dropout

    def forward(self, xs: Sequence[chainer.types.NdArray]) -> chainer.Variable:
        sections = np.cumsum([len(x) for x in xs[:-1]])
        embedded = F.dropout(self.embed(F.concat(xs, axis=0)), self.dropout)
        last_h, _, _ = self.encoder(None, None, F.split_axis(embedded, sections, axis=0))
        return last_h[-1]


class CNNEncoder(chainer.Chain):
    """Embedding, convolutions over 3, 4 and 5 tokens, max over time, one hidden layer."""

    widths = (3, 4, 5)

    def __init__(self, n_layers: int, n_vocab: int, n_units: int, dropout: float = 0.1) -> None:
        super().__init__()
        filters = max(n_units // len(self.widths), 1)
        with self.init_scope():
            self.embed = L.EmbedID(n_vocab, n_units, ignore_label=PAD)
            self.convs = chainer.ChainList(
                *(L.Convolution1D(n_units, filters, width, pad=width // 2) for width in self.widths)
            )
            self.hidden = chainer.ChainList(*(L.Linear(None, n_units) for _ in range(max(n_layers, 1))))
        self.out_units = n_units
        self.dropout = dropout

    def forward(self, xs: Sequence[chainer.types.NdArray]) -> chainer.Variable:
        h = embed_padded(self.embed, xs)  # (batch, length, units)
        h = F.dropout(F.transpose(h, (0, 2, 1)), self.dropout)  # (batch, units, length)
        h = F.concat([F.max(F.relu(conv(h)), axis=2) for conv in self.convs], axis=1)
        for layer in self.hidden:
            h = F.relu(layer(F.dropout(h, self.dropout)))
        return h


class BOWEncoder(chainer.Chain):
    """Average of the word embeddings, then hidden layers: order-blind but fast."""

    def __init__(self, n_layers: int, n_vocab: int, n_units: int, dropout: float = 0.1) -> None:
        super().__init__()
        with self.init_scope():
            self.embed = L.EmbedID(n_vocab, n_units, ignore_label=PAD)
            self.hidden = chainer.ChainList(*(L.Linear(None, n_units) for _ in range(max(n_layers, 1))))
        self.out_units = n_units
        self.dropout = dropout

    def forward(self, xs: Sequence[chainer.types.NdArray]) -> chainer.Variable:
        summed = F.sum(embed_padded(self.embed, xs), axis=1)
        h = summed / lengths_of(xs)[:, None]
        for layer in self.hidden:
            h = F.relu(layer(F.dropout(h, self.dropout)))
        return h


ENCODERS: dict[str, type[chainer.Chain]] = {"rnn": RNNEncoder, "cnn": CNNEncoder, "bow": BOWEncoder}


class TextClassifier(chainer.Chain):
    """An encoder and a linear output layer; `forward` returns the loss, `predict` the classes."""

    def __init__(self, encoder: chainer.Chain, n_class: int, dropout: float = 0.1) -> None:
        super().__init__()
        with self.init_scope():
            self.encoder = encoder
            self.output = L.Linear(encoder.out_units, n_class)
        self.dropout = dropout

    def forward(self, xs: Sequence[chainer.types.NdArray], ys: chainer.types.NdArray) -> chainer.Variable:
        logits = self.logits(xs)
        loss = F.softmax_cross_entropy(logits, ys)
        chainer.report({"loss": loss, "accuracy": F.accuracy(logits, ys)}, self)
        return loss

    def logits(self, xs: Sequence[chainer.types.NdArray]) -> chainer.Variable:
        return self.output(F.dropout(self.encoder(xs), self.dropout))

    def predict(
        self, xs: Sequence[chainer.types.NdArray], softmax: bool = False, argmax: bool = False
    ) -> chainer.types.NdArray:
        """Class scores as an array: logits, probabilities (`softmax`) or class ids (`argmax`)."""
        with chainer.using_config("train", False), chainer.no_backprop_mode():
            logits = self.logits(xs)
            if softmax:
                return F.softmax(logits).array
            if argmax:
                return self.xp.argmax(logits.array, axis=1)
            return logits.array


def build(model_type: str, n_vocab: int, n_class: int, n_layers: int, n_units: int, dropout: float) -> TextClassifier:
    """The classifier for `model_type` (rnn, cnn or bow)."""
    try:
        encoder_class = ENCODERS[model_type]
    except KeyError:
        raise ValueError(f"unknown model type {model_type!r}: expected one of {', '.join(ENCODERS)}") from None
    encoder = encoder_class(n_layers=n_layers, n_vocab=n_vocab, n_units=n_units, dropout=dropout)
    return TextClassifier(encoder, n_class, dropout=dropout)
