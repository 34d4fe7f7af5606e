"""Running the app under gunicorn: pre-forked workers, one model per worker.

Without batching, sync workers give each request a whole process (the model code is CPU-bound)
and run it in the main thread, where SIGALRM can cut a request that outlives the timeout; the
worker then retires and gunicorn starts a fresh one, which reloads the model. With batching,
uvicorn workers hold many requests at once on one asyncio loop, and one batcher thread per worker
runs the model (see `batching` and `asgi_worker`). The master removes dead workers from the health
directory and the metrics; SIGTERM lets in-flight and queued requests finish, then exits 0.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from typing import Any

from gunicorn.app.base import BaseApplication  # type: ignore[import-untyped,unused-ignore]

#: Extra seconds gunicorn's own watchdog allows beyond the request timeout, for code that
#: SIGALRM cannot interrupt (a long C call); past it gunicorn kills the worker outright.
WATCHDOG_MARGIN_SECONDS = 30


class ModelServer(BaseApplication):  # type: ignore[misc,unused-ignore]
    def __init__(
        self,
        app_factory: Callable[[], Callable[..., Any]],
        *,
        port: int,
        workers: int,
        timeout_seconds: float,
        on_worker_exit: Callable[[int], None],
        on_worker_start: Callable[[], None] | None = None,
        batching: bool = False,
        log_level: str = "warning",
    ) -> None:
        self.app_factory = app_factory
        self.options = {
            "bind": [f"0.0.0.0:{port}"],
            "workers": workers,
            "worker_class": "container_runtime.serving.asgi_worker.BatchingWorker" if batching else "sync",
            "timeout": int(timeout_seconds) + WATCHDOG_MARGIN_SECONDS,
            "graceful_timeout": int(timeout_seconds) + 5,
            "backlog": 2048,
            "accesslog": None,
            "errorlog": "-",
            "loglevel": log_level,
            "proc_name": "serve",
            "child_exit": lambda server, worker: on_worker_exit(worker.pid),
            "worker_abort": lambda worker: on_worker_exit(worker.pid),
        }
        if on_worker_start is not None:
            self.options["pre_fork"] = lambda server, worker: on_worker_start()
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Callable[..., Any]:
        """Called in each worker after the fork: build the app and start loading the model."""
        return self.app_factory()


def retire_this_worker() -> None:
    """Ask the gunicorn worker we run in to exit after the current request."""
    os.kill(os.getpid(), signal.SIGTERM)
