"""A Chainer model for serving tests: L.Linear(3, 2) with the weights of linear_model.py."""

import os

import chainer.links as L
import numpy as np


def model_fn(model_dir):
    weights = np.load(os.path.join(model_dir, "weights.npy"))  # (3, 2): y = x @ W
    link = L.Linear(3, 2, initialW=weights.T.copy(), nobias=True)
    return link
