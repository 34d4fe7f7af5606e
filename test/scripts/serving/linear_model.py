"""A numpy model for serving tests: y = x @ W (3 x 2), with hooks to load slowly or fail.

Every model_fn call appends "<pid>" to $SM_MODEL_DIR-less path <model_dir>/loads.log, so tests
can count loads per worker. Environment: LOAD_SECONDS (sleep in model_fn), FAIL_LOAD (raise).
An input whose first value is -1 sleeps SLOW_SECONDS in predict_fn (to test timeouts).
"""

import os
import time

import numpy as np

from container_runtime.serving import InvalidInput


def model_fn(model_dir):
    with open(os.path.join(model_dir, "loads.log"), "a") as log:
        log.write(f"{os.getpid()}\n")
    time.sleep(float(os.environ.get("LOAD_SECONDS", "0")))
    if os.environ.get("FAIL_LOAD"):
        raise RuntimeError("weights file is corrupt")
    return np.load(os.path.join(model_dir, "weights.npy"))


def predict_fn(data, model):
    data = np.asarray(data, dtype=np.float32)
    if data.ndim == 1:
        data = data.reshape(1, -1)
    if data.ndim != 2 or data.shape[1] != model.shape[0]:
        raise InvalidInput(f"expected rows of {model.shape[0]} values, got shape {data.shape}")
    if data.size and data.flat[0] == -1:
        time.sleep(float(os.environ.get("SLOW_SECONDS", "30")))
    if data.size and data.flat[0] == -2:
        raise ZeroDivisionError("bug in predict_fn")
    return data @ model


if __name__ == "__main__":
    raise SystemExit("training code ran while serving")
