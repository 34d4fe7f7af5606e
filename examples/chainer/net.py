"""A small VGG-style convolutional network for 32x32 RGB images (see cifar_vgg.py).

Same shape as the VGG of the public CIFAR example (3x3 convolutions with batch
normalisation, dropout and max pooling, then a small classifier head), with far fewer
channels so that one CPU epoch over a few thousand images takes seconds.
"""

from __future__ import annotations

from collections.abc import Sequence

import chainer
import chainer.functions as F
import chainer.links as L


class ConvBlock(chainer.Chain):
    """3x3 convolution (no bias), batch normalisation, ReLU, optional dropout or 2x2 pooling."""

    def __init__(self, out_channels: int, dropout: float = 0.0, pool: bool = False) -> None:
        super().__init__()
        self.dropout = dropout
        self.pool = pool
        with self.init_scope():
            self.conv = L.Convolution2D(None, out_channels, 3, pad=1, nobias=True)
            self.bn = L.BatchNormalization(out_channels)

    def forward(self, x: chainer.Variable) -> chainer.Variable:
        h = F.relu(self.bn(self.conv(x)))
        if self.dropout:
            h = F.dropout(h, self.dropout)
        if self.pool:
            h = F.max_pooling_2d(h, 2, stride=2)
        return h


class VGG(chainer.Chain):
    """Stages of two conv blocks (the second one pools), each stage doubling the channels."""

    def __init__(self, class_labels: int = 10, widths: Sequence[int] = (8, 16, 32)) -> None:
        super().__init__()
        with self.init_scope():
            self.blocks = chainer.ChainList(
                *(block for width in widths for block in (ConvBlock(width, dropout=0.2), ConvBlock(width, pool=True)))
            )
            self.fc1 = L.Linear(None, 128, nobias=True)
            self.bn_fc1 = L.BatchNormalization(128)
            self.fc2 = L.Linear(None, class_labels)

    def forward(self, x: chainer.Variable) -> chainer.Variable:
        h = x
        for block in self.blocks:
            h = block(h)
        h = F.dropout(h, 0.3)
        h = F.relu(self.bn_fc1(self.fc1(h)))
        h = F.dropout(h, 0.3)
        return self.fc2(h)
