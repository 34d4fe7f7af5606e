"""A row-wise numpy model for batching tests: y = x @ W (3 x 2), opted in to batching.

Each predict_fn call appends "<pid> <rows>" to <model_dir>/calls.log, so tests can see how
requests were combined. PREDICT_SECONDS sleeps in every call (to let queues fill). A row whose
first value is -1 sleeps SLOW_SECONDS; a row whose first value is -2 raises (a bug in the model).
"""

import os
import time

import numpy as np

from container_runtime.serving import InvalidInput

supports_batching = True
MODEL_DIR = {}


def model_fn(model_dir):
    MODEL_DIR["path"] = model_dir
    return np.load(os.path.join(model_dir, "weights.npy"))


def predict_fn(data, model):
    data = np.asarray(data, dtype=np.float32)
    if data.ndim != 2 or data.shape[1] != model.shape[0]:
        raise InvalidInput(f"expected rows of {model.shape[0]} values, got shape {data.shape}")
    with open(os.path.join(MODEL_DIR["path"], "calls.log"), "a") as log:
        log.write(f"{os.getpid()} {len(data)}\n")
    time.sleep(float(os.environ.get("PREDICT_SECONDS", "0")))
    if data.size and (data[:, 0] == -1).any():
        time.sleep(float(os.environ.get("SLOW_SECONDS", "30")))
    if data.size and (data[:, 0] == -2).any():
        raise ZeroDivisionError("bug in predict_fn")
    return data @ model
