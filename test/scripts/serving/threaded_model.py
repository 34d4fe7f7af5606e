"""A batching model whose code needs the real standard library: a subprocess in model_fn and
predict_fn, a thread pool in predict_fn. y = x @ W (3 x 2), as batch_model.py.

The batching worker runs an asyncio loop, and the model on a thread of its own: nothing may be
monkey-patched (as gunicorn's gevent workers do), or the subprocess would fail on the model's
thread and the pool's threads would be greenlets.
"""

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np

supports_batching = True
POOL = ThreadPoolExecutor(max_workers=2)


def _child_says(text):
    return subprocess.run([sys.executable, "-c", f"print({text!r})"], capture_output=True, text=True, check=True).stdout


def model_fn(model_dir):
    assert _child_says("loaded") == "loaded\n"
    return np.load(os.path.join(model_dir, "weights.npy"))


def predict_fn(data, model):
    if "gevent.monkey" in sys.modules:
        import gevent.monkey

        if gevent.monkey.is_module_patched("threading") or gevent.monkey.is_module_patched("subprocess"):
            raise RuntimeError("the standard library is monkey-patched in the model's process")
    data = np.asarray(data, dtype=np.float32)
    if data.size and data[0, 0] == 0:
        assert _child_says("predict") == "predict\n"
    halves = np.array_split(data, 2)
    return np.concatenate(list(POOL.map(lambda part: part @ model, halves)))
