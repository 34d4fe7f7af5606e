"""SageMaker-style user module for the serving benchmark: model_fn and predict_fn only.

Both servers use their default NPY input_fn/output_fn. Deliberately imports nothing but numpy
so that it runs unchanged under our `serve` and under sagemaker-containers 2.8.6.post2.
"""

import os

import numpy as np

#: predict_fn is row-wise, so our `serve` may batch requests when its batch size is set (the
#: legacy stack ignores the name).
supports_batching = True


class MLP:
    def __init__(self, weights):
        self.W1, self.b1 = weights["W1"], weights["b1"]
        self.W2, self.b2 = weights["W2"], weights["b2"]
        self.W3, self.b3 = weights["W3"], weights["b3"]


def model_fn(model_dir):
    with np.load(os.path.join(model_dir, "model.npz")) as weights:
        return MLP({name: weights[name] for name in weights.files})


def predict_fn(data, model):
    x = np.asarray(data, dtype=np.float32)
    h = np.maximum(x @ model.W1 + model.b1, 0)
    h = np.maximum(h @ model.W2 + model.b2, 0)
    return h @ model.W3 + model.b3
