"""The batching worker: gunicorn's uvicorn worker on uvloop, with httptools parsing requests.

One asyncio loop per worker reads, parses and answers every connection, so a worker holds
hundreds of requests at once for the price of one thread, and only two threads want the GIL: the
loop and the batcher's model thread (TensorFlow and numpy release the GIL while they compute, so
the loop reads and decodes the next requests meanwhile). The HTTP work per request decides how
many requests a worker gathers while the model runs: measured here on a bare echo app, uvicorn
with httptools and uvloop costs about 70 us of CPU a request against 240 us for gevent's WSGI
server, which our first batching workers used (see README, adaptive batching).

Nothing is monkey-patched: the model's code keeps real threads, locks and subprocesses.
"""

from __future__ import annotations

from typing import Any

from uvicorn_worker import UvicornWorker  # type: ignore[import-untyped,unused-ignore]


class BatchingWorker(UvicornWorker):  # type: ignore[misc,unused-ignore]
    CONFIG_KWARGS: dict[str, Any] = {
        "loop": "uvloop",
        "http": "httptools",
        "lifespan": "off",  # the model loads when the worker builds the app, before the loop runs
        "access_log": False,  # the app logs one line per request itself
    }
